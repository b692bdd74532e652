# ruff: noqa  -- throw-away measurement script for /work/notes/charts.md, kept as run
import json, statistics, sys
from playwright.sync_api import sync_playwright
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10
with sync_playwright() as p:
    b = p.chromium.launch(executable_path='/usr/bin/chromium', args=['--no-sandbox'])
    res = {'dcl': [], 'ready': [], 'embed': []}; errors = []; info = None
    for i in range(N):
        ctx = b.new_context(offline=True, viewport={'width': 1200, 'height': 900}); page = ctx.new_page()
        page.on('console', lambda m: errors.append(m.type + ': ' + m.text[:160]) if m.type in ('error', 'warning') else None)
        page.on('pageerror', lambda e: errors.append('pageerror: ' + str(e)[:160]))
        page.goto(sys.argv[1])
        try:
            page.wait_for_function('window.__ready || window.__failed', timeout=15000)
        except Exception as e:
            errors.append('timeout'); ctx.close(); continue
        t = page.evaluate("() => ({dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd, ready: window.__ready, embed: window.__embedms})")
        for k in res:
            if t[k] is not None: res[k].append(t[k])
        if info is None:
            info = page.evaluate("""() => { const s = [...document.querySelectorAll('svg')]; return {svgs: s.length,
                svgBytes: s.reduce((a, e) => a + new TextEncoder().encode(e.outerHTML).length, 0), paths: document.querySelectorAll('#map svg path').length,
                titles: document.querySelectorAll('svg title').length, roles: document.querySelectorAll('svg[role]').length, arias: [...new Set([...document.querySelectorAll('svg [aria-label]')].slice(0,3).map(e=>e.getAttribute('aria-label').slice(0,60)))]}; }""")
        ctx.close()
    b.close()
print(json.dumps({'info': info, 'errors': sorted(set(errors))[:6], **{k: round(statistics.median(v), 1) for k, v in res.items() if v}}))
