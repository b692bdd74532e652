# ruff: noqa  -- throw-away measurement script for /work/notes/charts.md, kept as run
"""A page under the report's CSP with vega + vega-lite + vega-embed inlined and the specs inlined."""
import json, sys
variant, ast = sys.argv[1], sys.argv[2] == 'ast'
S = json.load(open('/tmp/charts-proto/out/specs.json'))
specs = S['sparks'][:22] + [S['stack'], S['upset'], S['map']] if variant == 'full' else [S['sparks'][1], S['stack'], S['upset'], S['map']]
libs = ''.join('<script>' + open(f'/tmp/charts-proto/{p}/package/build/{f}', encoding='utf-8').read() + '</script>\n'
               for p, f in [('vega', 'vega.min.js'), ('vega-lite', 'vega-lite.min.js'), ('vega-embed', 'vega-embed.min.js')])
data = json.dumps(specs, separators=(',', ':'), ensure_ascii=False).replace('</', '<\\/')
page = f'''<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>vega prototype</title></head><body><div id="charts"></div><div id="map"></div>
{libs}<script id="specs" type="application/json">{data}</script>
<script>
"use strict";
(function () {{
  const specs = JSON.parse(document.getElementById("specs").textContent), box = document.getElementById("charts");
  const t0 = performance.now();
  window.__rendered = Promise.all(specs.map((s, i) => {{ const el = document.createElement(i === specs.length - 1 ? "div" : "span");
    (i === specs.length - 1 ? document.getElementById("map") : box).appendChild(el);
    return vegaEmbed(el, s, {{renderer: "svg", actions: false, ast: {str(ast).lower()}}}); }}))
    .then(() => {{ window.__ready = performance.now(); window.__embedms = window.__ready - t0; }}, e => {{ console.error("embed failed: " + e); }});
}})();
</script></body></html>'''
out = f'/tmp/charts-proto/out/vega-{variant}-{"ast" if ast else "noast"}.html'
open(out, 'w', encoding='utf-8').write(page)
print(out, len(page.encode()), 'bytes; specs', len(data.encode()))
