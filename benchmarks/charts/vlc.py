# ruff: noqa  -- throw-away measurement script for /work/notes/charts.md, kept as run
import json, time, hashlib, statistics, sys
t0 = time.perf_counter()
import vl_convert as vlc
t_imp = time.perf_counter() - t0
S = json.load(open('/tmp/charts-proto/out/specs.json'))
specs = S['sparks'][:22] + [S['stack'], S['upset'], S['map']]
names = [f'spark{i}' for i in range(22)] + ['stack', 'upset', 'map']
t0 = time.perf_counter(); first = vlc.vegalite_to_svg(specs[0], vl_version='6.4' if False else None) if False else vlc.vegalite_to_svg(specs[0]); t_first = time.perf_counter() - t0
times, out = {}, {}
for n, s in zip(names, specs):
    ts = []
    for _ in range(3):
        t0 = time.perf_counter(); svg = vlc.vegalite_to_svg(s); ts.append((time.perf_counter() - t0) * 1000)
    times[n] = statistics.median(ts); out[n] = svg
    open(f'/tmp/charts-proto/out/vlc-{sys.argv[1]}-{n}.svg', 'w').write(svg)
allsvg = ''.join(out[n] for n in names)
print(json.dumps({'import_s': round(t_imp, 2), 'first_call_ms': round(t_first * 1000), 'spark_ms': round(statistics.median([times[n] for n in names[:22]]), 1),
  'stack_ms': round(times['stack'], 1), 'upset_ms': round(times['upset'], 1), 'map_ms': round(times['map'], 1),
  'spark_bytes': statistics.median([len(out[n].encode()) for n in names[:22]]), 'stack_bytes': len(out['stack'].encode()), 'upset_bytes': len(out['upset'].encode()), 'map_bytes': len(out['map'].encode()),
  'total_bytes': len(allsvg.encode()), 'sha256': hashlib.sha256(allsvg.encode()).hexdigest()[:16],
  'vl_versions': getattr(vlc, 'get_vegalite_versions', lambda: None)()[-3:] if hasattr(vlc, 'get_vegalite_versions') else None}))
