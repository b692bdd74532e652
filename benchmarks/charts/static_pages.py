# ruff: noqa  -- throw-away measurement script for /work/notes/charts.md, kept as run
import glob, json
CSP = """<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">"""
names = [f'spark{i}' for i in range(22)] + ['stack', 'upset', 'map']
svgs = ''.join(open(f'out/vlc-run1-{n}.svg').read() for n in names)
ready = '<script>window.__ready = performance.now();</script>'
open('out/static-gm.html', 'w').write(f'<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">{CSP}<title>static</title></head><body><div id="map"></div>{svgs}{ready}</body></html>')
# libs only
libs = ''.join('<script>' + open(f'{p}/package/build/{f}', encoding='utf-8').read() + '</script>\n' for p, f in [('vega', 'vega.min.js'), ('vega-lite', 'vega-lite.min.js'), ('vega-embed', 'vega-embed.min.js')])
open('out/libs-only.html', 'w').write(f'<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">{CSP}<title>libs</title></head><body>{libs}{ready}</body></html>')
