# ruff: noqa  -- throw-away measurement script for /work/notes/charts.md, kept as run
"""Open a page in headless chromium (offline, like tests/test_browser.py) and time it."""
import json, statistics, sys, time
from playwright.sync_api import sync_playwright
url = sys.argv[1]; wait = sys.argv[2]; hashes = sys.argv[3].split(',') if len(sys.argv) > 3 and sys.argv[3] else []
N = 10
with sync_playwright() as p:
    b = p.chromium.launch(executable_path='/usr/bin/chromium', args=['--no-sandbox'])
    res = {'dcl': [], 'load': [], 'ready': [], 'fcp': [], 'nav': []}
    errors = []
    for i in range(N):
        ctx = b.new_context(offline=True, viewport={'width': 1200, 'height': 900}); page = ctx.new_page()
        page.on('console', lambda m: errors.append(m.type + ': ' + m.text) if m.type in ('error', 'warning') else None)
        page.on('pageerror', lambda e: errors.append('pageerror: ' + str(e)))
        page.goto(url); page.wait_for_selector(wait)
        t = page.evaluate("""() => { const n = performance.getEntriesByType('navigation')[0];
            const f = performance.getEntriesByName('first-contentful-paint')[0];
            return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd, ready: window.__ready || null, fcp: f ? f.startTime : null}; }""")
        for k in ('dcl', 'load', 'ready', 'fcp'):
            if t[k] is not None: res[k].append(t[k])
        for h in hashes:  # re-render on navigation: the page's own hashchange listener runs first
            ms = page.evaluate("""h => new Promise(r => { const t = performance.now();
                window.addEventListener('hashchange', () => (window.__rendered ? window.__rendered : Promise.resolve()).then(() => requestAnimationFrame(() => r(performance.now() - t))), {once: true}); location.hash = h; })""", h)
            res['nav'].append(ms)
        if i == 0:
            info = page.evaluate("""() => { const s = [...document.querySelectorAll('svg')]; return {svgs: s.length,
                svgBytes: s.reduce((a, e) => a + new TextEncoder().encode(e.outerHTML).length, 0),
                canvases: document.querySelectorAll('canvas').length, dom: document.documentElement.outerHTML.length}; }""")
        ctx.close()
    b.close()
print(json.dumps({'info': info, 'errors': sorted(set(errors))[:5], **{k: round(statistics.median(v), 1) for k, v in res.items() if v}}))
