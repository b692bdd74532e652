# ruff: noqa  -- throw-away measurement script for /work/notes/charts.md, kept as run
import vl_convert as vlc, re, json
s = {"$schema":"https://vega.github.io/schema/vega-lite/v6.json","width":200,"height":100,"data":{"values":[{"a":1,"b":2},{"a":2,"b":5}]},
     "mark":{"type":"bar","clip":True},"encoding":{"x":{"field":"a","type":"quantitative"},"y":{"field":"b","type":"quantitative"},"color":{"field":"b","type":"quantitative"}}}
a = vlc.vegalite_to_svg(s); b = vlc.vegalite_to_svg(s)
print('ids', re.findall(r'id="([^"]+)"', a), re.findall(r'id="([^"]+)"', b), a == b)
print([m for m in dir(vlc) if not m.startswith('_')])
