# ruff: noqa  -- throw-away measurement script for /work/notes/charts.md, kept as run
"""Vega-lite specs for the gemeente view of the demo report (same charts as today's page):
22 trend lines, the stacking bar chart, the UpSet chart, the choropleth map."""
import json, re, sys
R = '/tmp/demo-before/releases/GM0164-2026-10-bdebd27739/report.html'
h = open(R, encoding='utf-8').read()
D = json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>', h, re.S).group(1))
P, periods, areas = D['period'], D['periods'], D['areas']
combos = [c for c in D['tables']['combinaties']['categories'] if c != 'totaal']
domains = list(D['domains'])
sels = [t for t in D['tables'] if t.startswith('selectie:')]
SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json'

def val(p, t, a, c):
    return D['values'].get(p, {}).get(t, {}).get(a, {}).get(c, 'NA')
def two(p, a):
    g = lambda c: val(p, 'stapeling', a, c)
    if g('2+') != 'NA': return g('2+')
    if g('2') not in (None, 'NA') and g('3+') not in (None, 'NA'): return g('2') + g('3+')
    return None
def per100(n, a, p):
    t = val(p, 'stapeling', a, 'totaal')
    return None if n in (None, 'NA') or not t or t == 'NA' else round(100 * n / t, 2)
def fig(kind, a, p):
    if kind == '2plus': return two(p, a)
    if kind == '2plus100': return per100(two(p, a), a, p)
    if kind == '1plus100':
        t, z = val(p, 'stapeling', a, 'totaal'), val(p, 'stapeling', a, '0')
        return None if None in (t, z) or 'NA' in (t, z) else per100(t - z, a, p)
    if kind.startswith('dom:'):
        parts = [val(p, 'combinaties', a, c) for c in combos if kind[4:] in c.split('+')]
        return None if any(x in (None, 'NA') for x in parts) else per100(sum(parts), a, p)
    t, c = kind.split('|'); v = val(p, t, a, c); return None if v == 'NA' else v

def spark(kind, a):
    return {'$schema': SCHEMA, 'width': 84, 'height': 22, 'padding': 2,
            'description': 'verloop', 'config': {'view': {'stroke': None}},
            'data': {'values': [{'periode': p, 'waarde': fig(kind, a, p)} for p in periods]},
            'mark': {'type': 'line', 'point': {'size': 8}, 'strokeWidth': 1.5, 'invalid': 'break-paths-show-domains'},
            'encoding': {'x': {'field': 'periode', 'type': 'ordinal', 'axis': None},
                         'y': {'field': 'waarde', 'type': 'quantitative', 'axis': None, 'scale': {'zero': False}},
                         'tooltip': [{'field': 'periode'}, {'field': 'waarde'}]}}

def stackbar(a):
    lab = {'2+': '2 of meer domeinen', '2': 'waarvan 2', '3+': 'waarvan 3', '1': '1 domein', '0': 'geen domein'}
    vals = [{'groep': lab[c], 'per100': per100(two(P, a) if c == '2+' else val(P, 'stapeling', a, c), a, P)} for c in lab]
    return {'$schema': SCHEMA, 'width': 260, 'height': 110, 'data': {'values': vals},
            'mark': 'bar', 'encoding': {'y': {'field': 'groep', 'type': 'nominal', 'sort': None, 'title': None},
                                       'x': {'field': 'per100', 'type': 'quantitative', 'title': 'per 100 huishoudens'},
                                       'color': {'condition': {'test': "datum.groep === '2 of meer domeinen'", 'value': '#a03000'}, 'value': '#0b5394'},
                                       'tooltip': [{'field': 'groep'}, {'field': 'per100'}]}}

def upset(a):
    bars = [{'combinatie': c, 'aantal': val(P, 'combinaties', a, c)} for c in combos]
    dots = [{'combinatie': c, 'domein': D['domains'][d], 'aan': d in c.split('+')} for c in combos for d in domains]
    x = {'field': 'combinatie', 'type': 'nominal', 'sort': None, 'axis': None}
    return {'$schema': SCHEMA, 'vconcat': [
        {'width': 400, 'height': 120, 'data': {'values': bars}, 'layer': [
            {'mark': 'bar', 'encoding': {'x': x, 'y': {'field': 'aantal', 'type': 'quantitative', 'title': None}, 'tooltip': [{'field': 'combinatie'}, {'field': 'aantal'}]}},
            {'mark': {'type': 'text', 'dy': -6}, 'encoding': {'x': x, 'y': {'field': 'aantal', 'type': 'quantitative'}, 'text': {'field': 'aantal'}}}]},
        {'width': 400, 'height': 66, 'data': {'values': dots}, 'mark': {'type': 'circle', 'size': 120, 'opacity': 1},
         'encoding': {'x': x, 'y': {'field': 'domein', 'type': 'nominal', 'title': None},
                      'color': {'field': 'aan', 'type': 'nominal', 'scale': {'domain': [True, False], 'range': ['#1d2733', '#d8dee6']}, 'legend': None}}}]}

def rings(path):
    out = []
    for part in re.findall(r'M([^Z]*)Z', path):
        pts = [[float(x) for x in xy.split(',')] for xy in part.split('L')]
        out.append([pts + [pts[0]]])
    return out

def choropleth(gm, kind='2plus100'):
    m = D['map'][gm]
    feats = [{'type': 'Feature', 'properties': {'code': b, 'naam': areas.get(b, {}).get('name', b), 'waarde': fig(kind, b, P)},
              'geometry': {'type': 'MultiPolygon', 'coordinates': rings(pth)}} for b, pth in m['paths'].items()]
    W, H = [float(v) for v in m['viewBox'].split()[2:]]
    return {'$schema': SCHEMA, 'width': 1000, 'height': H,
            'data': {'values': {'type': 'FeatureCollection', 'features': feats}, 'format': {'type': 'json', 'property': 'features'}},
            'projection': {'type': 'identity'},
            'mark': {'type': 'geoshape', 'stroke': '#666', 'strokeWidth': 0.8, 'invalid': 'show'},
            'encoding': {'color': {'condition': {'test': 'datum.properties.waarde === null', 'value': '#f4f4f4'}, 'field': 'properties.waarde', 'type': 'quantitative', 'scale': {'type': 'quantile', 'scheme': 'blues', 'count': 5}, 'title': '2+ per 100'},
                         'tooltip': [{'field': 'properties.naam', 'title': 'buurt'}, {'field': 'properties.waarde', 'title': '2+ per 100'}],
                         'href': {'value': '#'}}}

gm = 'GM0164'
kinds = ['2plus', '2plus100', '1plus100', 'stapeling|totaal'] + ['2plus', 'stapeling|2', 'stapeling|3+', 'stapeling|1', 'stapeling|0', 'stapeling|totaal'] \
        + [t + '|totaal' for t in sels]
sparks = [spark(k, gm) for k in kinds] + [spark('2plus100', w) for w in areas[gm]['children']]
full = {'sparks': sparks, 'stack': stackbar(gm), 'upset': upset(gm), 'map': choropleth(gm)}
json.dump(full, open('/tmp/charts-proto/out/specs.json', 'w'), ensure_ascii=False)
print(len(sparks), 'sparks;', {k: len(json.dumps(v, separators=(',', ':'), ensure_ascii=False).encode()) for k, v in full.items()})
