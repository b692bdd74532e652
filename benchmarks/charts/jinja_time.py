# ruff: noqa  -- throw-away measurement script for /work/notes/charts.md, kept as run
import json, time, statistics, sys
from pathlib import Path
sys.path.insert(0, '/work/wt-charts')
from pipelines.tablescsv import read_tables
from pipelines.reportdata import earlier_tables, build_model
from pipelines import geography, report
work = Path('/tmp/demo-before'); rel = work/'releases'/'GM0164-2026-10-bdebd27739'
tables = read_tables(rel/'tables.csv'); audit = json.loads((rel/'audit.json').read_text())
ctx = {'buurten': geography.buurten('GM0164'), 'history': earlier_tables(work, 'GM0164', audit['period'])}
out = report.render_report(tables, audit, ctx)
print('identical to release report.html:', out.encode() == (rel/'report.html').read_bytes())
T=[];M=[];J=[]
env = report._env(); tpl = env.get_template('report.html.j2')
for i in range(7):
    t0=time.perf_counter(); model=build_model(tables, ctx['history'], audit, ctx['buurten']); t1=time.perf_counter()
    s=tpl.render(audit=audit, model=model, periods=model['periods'], map_attribution=report.ATTRIBUTION); t2=time.perf_counter()
    M.append((t1-t0)*1000); J.append((t2-t1)*1000)
print('build_model ms median', round(statistics.median(M),1), 'jinja render ms median', round(statistics.median(J),1))
from pipelines.geomap import voronoi_paths
V=[]
for i in range(7):
    t0=time.perf_counter(); voronoi_paths(ctx['buurten']); V.append((time.perf_counter()-t0)*1000)
print('voronoi_paths ms median', round(statistics.median(V),1))
