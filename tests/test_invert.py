"""One candidate's options (nam_jax/nam/invert.py): the learning-rate schedules."""

import pytest

from configs import test as test_cfg
from nam_jax.nam import invert, settings


NAM_CFG = test_cfg.get_config().nam


def test_learning_rate_schedules():
  """constant: learning_rate at every step; cosine: from learning_rate down to a tenth of it
  at the last step, never increasing."""
  const = invert.learning_rate_schedule(settings.from_config(NAM_CFG, {
      'steps': 10, 'learning_rate': 0.05}).options)
  assert [float(const(i)) for i in (0, 5, 9)] == pytest.approx([0.05] * 3)
  opts = settings.from_config(NAM_CFG, {'steps': 10, 'learning_rate': 0.05,
                                        'schedule': 'cosine'}).options
  cos = [float(invert.learning_rate_schedule(opts)(i)) for i in range(10)]
  assert cos[0] == pytest.approx(0.05) and cos[-1] == pytest.approx(0.005)
  assert all(b <= a for a, b in zip(cos, cos[1:]))
  with pytest.raises(ValueError, match='schedule must be one of'):
    settings.from_config(NAM_CFG, {'schedule': 'step'})
