"""SR-NAM over a set of inputs, as infer.py reports it: the search, the diverged candidates,
the ranking and the groups by person, and the warnings about poorly fitting candidates."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from nam_jax import images, weights
from nam_jax.data import crops, folder
from nam_jax.nam import chunks, consistency, groups, models, rank, render, report, sizes, tone
from nam_jax.nam import inputs as inputs_lib
from nam_jax.nam.settings import Settings

ALL_DIVERGED = ('error: every candidate diverged (non-finite); nothing written. Check the '
                'checkpoints and lower --learning_rate')


def load(settings: Settings, data_cfg):
  """(model, inputs) of a job, or None after a one-line error on stderr (a missing or
  damaged checkpoint, an unreadable or missing input, a bad setting)."""
  try:
    model = models.load_model(settings)
    inputs = inputs_lib.resolve(settings.input, data_cfg, settings.limit, settings.align,
                                settings.lr_size)
    inputs = sized_for(model, inputs, settings.lr_size)
  except (weights.CheckpointError, folder.BadImageError, FileNotFoundError, ValueError) as e:
    print(f'error: {e}', file=sys.stderr)
    return None
  if settings.size != 64 and not render.can_render(model_prior(model)):
    print(f'note: the {settings.prior} prior renders 64 px only; --size={settings.size} '
          'ignored')
  return model, inputs


def sized_for(model, inputs, lr_size: int):
  """The inputs at sizes the model's degradation can make: with lr_size OWN, faces of a size
  it cannot make (the H2L network makes 16 px only) are reduced to its own size, with a note;
  with a size asked for, ValueError."""
  own = None
  for m in (model.models.values() if isinstance(model, models.AutoModel) else [model]):
    for size, _ in sizes.by_size(inputs.lr_images):
      try:
        chunks.at_size(m, size)
      except ValueError:
        if lr_size != sizes.OWN:
          raise
        own = getattr(m.nets.degradation, 'size', 16)
  if own is None:
    return inputs
  print(f'note: the {type(m.nets.degradation).__name__} degradation makes {own} px faces only: '
        f'every input is searched at {own} px', file=sys.stderr)
  return dataclasses.replace(inputs, lr_images=sizes.as_batch(
      [crops.resize(images.as_uint8(x), own) for x in inputs.lr_images]))


def model_prior(model):
  """The face prior of a loaded job (models.Model, or the first of an AutoModel's)."""
  if isinstance(model, models.AutoModel):
    model = next(iter(model.models.values()))
  return model.nets.prior


def search_inputs(model, inputs, settings: Settings, devices=None) -> tuple[dict, np.ndarray]:
  """SR-NAM over `inputs` with what is said about it: the result (grouped and ranked,
  group_candidates) and its diverged mask; diverged candidates and ill-fitting top
  candidates are reported on stderr."""
  result = models.super_resolve(model, inputs.lr_images, settings, devices=devices)
  bad = report.diverged(result)
  for i, s in zip(*np.nonzero(bad)):
    print(f'diverged: {inputs.names[i]} seed {s} (non-finite result, left out)',
          file=sys.stderr)
  if bad.all():
    return result, bad
  measured = [tone.measure(lr, hr) for lr, hr in zip(inputs.lr_images, result['hr'])]
  group_candidates(result, bad, settings.rank, inputs.lr_images, measured)
  result['tone'] = [tone.describe(m, [s for s in np.argsort(result['rank_score'][i],
                                                           kind='stable') if not bad[i, s]])
                    for i, m in enumerate(measured)]
  for name, t in zip(inputs.names, result['tone']):
    if t and not t['decided']:
      print(f'note: {name}: {t["note"]}', file=sys.stderr)
  first = np.argmin(result['rank_score'], axis=1)
  top = np.where(bad, np.inf, result['loss'])[np.arange(len(first)), first]
  content = consistency.has_content([images.as_float(x) for x in inputs.lr_images])
  for name, value, flag, full in zip(inputs.names, top, consistency.flags(top), content):
    if not full:
      print(f'warn: {name}: the input is flat (no face in it to fit); its candidates are the '
            'face prior\'s guesses, flagged warn', file=sys.stderr)
    elif flag == 'warn':
      print(f'warn: {name}: its top candidate fits the input to LR L1 {value:.3f}, worse '
            f'than {consistency.THRESHOLD} (the 95th percentile on real test faces); '
            'returned anyway', file=sys.stderr)
  if 'render_psnr' in result:
    ok = ~bad
    print(f'rendered at {settings.size} px: reduced to 64 px, PSNR {np.mean(result["render_psnr"][ok]):.1f} '
          f'dB against the searched candidates; LR L1 {np.mean(result["render_lr_l1"][ok]):.4f} '
          f'vs {np.mean(result["loss"][ok]):.4f} searched')
  return result, bad


def rank_inputs(how: str, result: dict, lr_images: np.ndarray, measured=None) -> dict:
  """What ranking `how` needs beside the losses and descriptors (rank.scores' keywords);
  `measured`: each input's tone.measure, when already taken."""
  if how != 'input':
    return {}
  out = {}
  if rank.INPUT_WEIGHTS.get('input'):
    out['input_desc'] = rank.input_descriptors(lr_images)
  if rank.INPUT_WEIGHTS.get('artefacts'):
    from nam_jax import artefacts
    out['artefact_scores'] = artefacts.scores(result['hr'])
  if rank.INPUT_WEIGHTS.get('tone'):
    out['tone_gaps'] = (tone.tone_gaps(lr_images, result['hr']) if measured is None
                        else np.array([tone.gaps(m) for m in measured]))
  return out


def group_candidates(result: dict, bad: np.ndarray, how: str, lr_images: np.ndarray,
                     measured=None) -> None:
  """Adds result['rank_score'] [I, S] (nam/rank.py; lower first) and result['groups']: per
  input, its finite candidates (seed indices) grouped by person (nam/groups.py), groups and
  members in rank order. lr_images [I, 16, 16, 3]: the inputs (the input ranking)."""
  desc = groups.descriptors(result['hr'])
  loss = np.where(bad, np.inf, result['loss'])
  result['rank_score'] = rank.scores(loss, desc, how,
                                     **rank_inputs(how, result, lr_images, measured))
  out = []
  for i in range(len(bad)):
    order = [int(s) for s in np.argsort(result['rank_score'][i], kind='stable')
             if not bad[i, s]]
    sub = groups.cluster(desc[i, order], np.arange(len(order)))
    out.append([[order[k] for k in g] for g in sub])
  result['groups'] = out
