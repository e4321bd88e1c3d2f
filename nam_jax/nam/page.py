"""OUT/index.html: one static page of an inference run, readable offline in any browser.

Built from results.json alone (the page shows nothing the JSON does not hold); style inline, no
server, no network: images are the run's own PNGs, linked by their paths inside OUT, so the
folder moves as a whole. Per input: the LR face, the top candidate, where the candidates
disagree, the groups of candidates with each one's fit and pass/warn flag, and the grid with
the LR residual maps; photos with --align first, each before (enlarged) and after its faces
were pasted back. A small script counts the images that loaded into the body's
data-images-loaded attribute (the page test reads it).
"""

from __future__ import annotations

import html
import pathlib

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px auto; max-width: 1240px;
       color: #222; background: #fafafa; padding: 0 12px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 0 0 8px; }
.meta { color: #555; margin-bottom: 16px; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px;
        margin-bottom: 16px; }
.head { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
figure { margin: 0; text-align: center; font-size: 12px; color: #444; }
figure img { display: block; border: 1px solid #ccc; }
.lr { image-rendering: pixelated; width: 128px; height: 128px; }
.big { width: 192px; height: 192px; }
.groups { display: flex; gap: 10px; flex-wrap: wrap; margin: 10px 0 4px; }
.group { border: 1px solid #e3e3e3; border-radius: 4px; padding: 4px 6px; }
.row { display: flex; gap: 6px; flex-wrap: wrap; margin-top: 4px; }
.row img { width: 112px; height: 112px; }
.warn { color: #b54708; font-weight: 600; } .pass { color: #067647; }
.composite img { max-width: 100%; height: auto; }
.pair { display: flex; gap: 8px; flex-wrap: wrap; } .pair figure { flex: 1 1 45%; }
table { border-collapse: collapse; font-size: 13px; }
td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left; }
details summary { cursor: pointer; color: #345; margin-top: 4px; }
details img { max-width: 100%; image-rendering: pixelated; }
"""

_COUNT_IMAGES = """
<script>
window.addEventListener('load', function () {
  var all = document.images, ok = 0;
  for (var i = 0; i < all.length; i++) if (all[i].complete && all[i].naturalWidth > 0) ok++;
  document.body.dataset.imagesLoaded = ok;
  document.body.dataset.imagesTotal = all.length;
});
</script>"""


def _e(x) -> str:
  return html.escape(str(x), quote=True)


def _img(path: str, alt: str, cls: str = '') -> str:
  extra = f' class="{cls}"' if cls else ''
  return f'<img src="{_e(path)}" alt="{_e(alt)}"{extra}>'


def _flag(flag: str) -> str:
  return f'<span class="{_e(flag)}">{_e(flag)}</span>'


def _candidate(c: dict) -> str:
  alt = f'candidate rank {c["rank"]}'
  return (f'<figure>{_img(c["hr_path"], alt)}'
          f'#{c["rank"]} &middot; LR L1 {c["lr_l1"]:.3f} &middot; {_flag(c["consistency"])}'
          + (' &middot; <span class="warn">outlier: fits far worse than the best</span>'
             if c.get('outlier') else '') + '</figure>')


def _input(entry: dict, size: int) -> str:
  name = entry['name']
  cands = [c for c in entry['candidates'] if c['hr_path']]
  by_rank = {c['rank']: c for c in cands}
  top = cands[0] if cands else None
  parts = [f'<div class="card" id="{_e(name)}"><h2>{_e(name)}</h2>',
           f'<div class="meta">{_e(entry["source"])}']
  if 'degradation' in entry:
    parts.append(f' &middot; degradation {_e(entry["degradation"])} (camera probability '
                 f'{entry["camera_probability"]:.2f})')
  parts.append(f' &middot; top candidate {_flag(entry["consistency"])}')
  if entry.get('tone', {}).get('note'):  # One line on skin tone (nam/tone.py).
    cls = '' if entry['tone']['decided'] else ' class="warn"'
    parts.append(f'<br><span{cls}>{_e(entry["tone"]["note"])}</span>')
  if entry.get('photo_note'):  # --align: a face larger in its photo than the output.
    parts.append(f'<br><span class="warn">{_e(entry["photo_note"])}</span>')
  parts.append('</div><div class="head">')
  parts.append(f'<figure>{_img(entry["input_lr"], "LR input", "lr")}LR input '
               f'({entry.get("lr_size", 16)} px)</figure>')
  if top:
    parts.append(f'<figure>{_img(top["hr_path"], "top candidate", "big")}top candidate '
                 f'({size} px)</figure>')
  parts.append(f'<figure>{_img(entry["disagreement"], "disagreement map", "big")}where the '
               f'candidates disagree<br>(black: the input decides; bright: invented)</figure>')
  parts.append('</div>')
  total = len(cands)
  parts.append('<div class="groups">')
  for g, group in enumerate(entry.get('groups') or [{'ranks': sorted(by_rank)}]):
    members = [by_rank[r] for r in group['ranks'] if r in by_rank]
    parts.append(f'<div class="group">person {g + 1}: {len(members)} of {total} candidates'
                 f'<div class="row">{"".join(_candidate(c) for c in members)}</div></div>')
  parts.append('</div>')
  parts.append(f'<details><summary>grid: candidates, re-degraded LR and residual maps'
               f'</summary>{_img(entry["grid"], "grid of " + name)}</details></div>')
  return ''.join(parts)


def render(summary: dict) -> str:
  """The page (HTML text) of a results.json summary."""
  s = summary.get('settings', {})
  size = summary.get('size', 64)
  meta = (f'{summary["num_inputs"]} input(s) &middot; prior {_e(s.get("prior", "?"))} &middot; '
          f'degradation {_e(s.get("degradation", "?"))} &middot; {_e(s.get("seeds", "?"))} '
          f'candidates, {_e(s.get("steps", "?"))} steps &middot; output {size} px &middot; '
          f'ranked by {_e(s.get("rank", "fit"))} &middot; {summary["seconds"]:.1f} s')
  parts = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f'<title>nam_jax results</title><style>{_STYLE}</style></head><body>',
           f'<h1>nam_jax: super-resolved faces</h1><div class="meta">{meta}</div>']
  if summary.get('diverged'):
    parts.append(f'<p class="warn">{summary["diverged"]} candidate(s) diverged and are left '
                 'out.</p>')
  for c in summary.get('composites', []):
    faces = ', '.join(f'{_e(f["name"])} (#{f["rank"]})' for f in c['faces'])
    before = (f'<figure>{_img(c["before"], "before: " + c["photo"])}before: the photo '
              f'enlarged x{c["scale"]:.2f}</figure>' if c.get('before') else '')
    parts.append(f'<div class="card composite"><h2>{_e(c["photo"])}: faces pasted back '
                 f'(x{c["scale"]:.2f})</h2><div class="pair">{before}<figure>'
                 f'{_img(c["path"], "composite of " + c["photo"])}after: faces pasted back'
                 f'</figure></div><div class="meta">{faces}</div></div>')
  if summary.get('skipped'):
    items = ''.join(f'<li>{_e(m)}</li>' for m in summary['skipped'])
    parts.append(f'<details class="card"><summary>skipped ({len(summary["skipped"])})'
                 f'</summary><ul>{items}</ul></details>')
  parts += [_input(e, size) for e in summary['inputs']]
  parts.append(f'{_COUNT_IMAGES}</body></html>')
  return '\n'.join(parts)


def write(out_dir: str | pathlib.Path, summary: dict) -> pathlib.Path:
  path = pathlib.Path(out_dir) / 'index.html'
  path.write_text(render(summary), encoding='utf-8')
  return path
