# ruff: noqa  -- throw-away measurement script for /work/notes/charts.md, kept as run
"""Pre-render every chart the report can show (all 73 areas, 6 map figures) with vl-convert."""
import json, time, hashlib, sys, re
sys.argv = ['make_specs.py']; exec(open('/tmp/charts-proto/make_specs.py').read().split("gm = 'GM0164'")[0])
import vl_convert as vlc
charts = {}
for a in areas:
    for k in ['2plus', '2plus100', '1plus100', 'stapeling|totaal', 'stapeling|2', 'stapeling|3+', 'stapeling|1', 'stapeling|0'] + [t + '|totaal' for t in sels]:
        charts[('spark', k, a)] = spark(k, a)
    if areas[a]['level'] == 'buurt':
        for d in domains: charts[('spark', 'dom:' + d, a)] = spark('dom:' + d, a)
    charts[('stack', a)] = stackbar(a); charts[('upset', a)] = upset(a)
for k in ['2plus100', '1plus100', 'stapeling|totaal'] + ['dom:' + d for d in domains]:
    charts[('map', k)] = choropleth('GM0164', k)
vlc.vegalite_to_svg(charts[('stack', 'GM0164')])  # warm up
t0 = time.perf_counter(); out = {}; kinds = {}
for key, s in charts.items():
    t = time.perf_counter(); out[key] = vlc.vegalite_to_svg(s); kinds.setdefault(key[0], []).append(time.perf_counter() - t)
total = time.perf_counter() - t0
blob = ''.join(out[k] for k in charts).encode()
ids = sorted(set(re.findall(rb'id="([^"]+)"', blob)))
print(json.dumps({'charts': len(charts), 'by_kind': {k: len(v) for k, v in kinds.items()}, 'seconds': round(total, 1),
  'ms_per_kind': {k: round(1000 * sum(v) / len(v), 1) for k, v in kinds.items()}, 'bytes': len(blob),
  'bytes_per_kind': {k: sum(len(out[c].encode()) for c in charts if c[0] == k) for k in kinds}, 'ids': [i.decode() for i in ids[:8]], 'n_ids': len(ids),
  'sha256': hashlib.sha256(blob).hexdigest()[:16]}))
import gzip; print('gzip', len(gzip.compress(blob, 9)))
CSP = """<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">"""
secs = {}
for k in charts:
    secs.setdefault(k[-1] if k[0] != 'map' else 'map', []).append(out[k])
body = ''.join(f'<section id="s{a}"{"" if a in ("GM0164", "map") else " hidden"}>' + ''.join(v) + '</section>' for a, v in secs.items())
open('/tmp/charts-proto/out/static-all.html', 'w').write(f'<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">{CSP}<title>all</title></head><body><div id="map"></div>{body}<script>window.__ready = performance.now();</script></body></html>')
