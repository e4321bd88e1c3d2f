"""conv_same: the loop-friendly convolution equals lax's, values and gradients; init_variables
equals module.init."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nam_jax import layers


def _lax_conv(x, w):
  return jax.lax.conv_general_dilated(x, w, (1, 1), 'SAME',
                                      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


@pytest.mark.parametrize('kernel', [1, 3, 5])
def test_conv_same_values_and_gradients_equal_lax(kernel):
  kx, kw, kg = jax.random.split(jax.random.key(0), 3)
  x = jax.random.normal(kx, (2, 8, 6, 5))
  w = jax.random.normal(kw, (kernel, kernel, 5, 7))
  g = jax.random.normal(kg, (2, 8, 6, 7))
  np.testing.assert_allclose(layers.conv_same(x, w), _lax_conv(x, w), rtol=1e-5, atol=1e-5)
  ours = jax.vjp(layers.conv_same, x, w)[1](g)
  ref = jax.vjp(_lax_conv, x, w)[1](g)
  for a, b in zip(ours, ref):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_conv_same_second_order_gradient_equals_lax():
  """The gradient penalty differentiates an input gradient again."""
  x = jax.random.normal(jax.random.key(1), (2, 6, 6, 3))
  w = jax.random.normal(jax.random.key(2), (3, 3, 3, 4))

  def penalty(conv):
    def f(w):
      grad_x = jax.grad(lambda x: jnp.sum(jnp.tanh(conv(x, w))))(x)
      return jnp.sum(grad_x ** 2)
    return jax.grad(f)(w)

  np.testing.assert_allclose(penalty(layers.conv_same), penalty(_lax_conv), rtol=1e-4,
                             atol=1e-4)


def test_flax_adapter_routes_only_the_supported_case():
  x = jax.random.normal(jax.random.key(3), (1, 8, 8, 3))
  for conv, routed in ((nn.Conv(4, (3, 3), padding='SAME'), True),
                       (nn.Conv(4, (3, 3), strides=2), False),
                       (nn.Conv(4, (2, 2), padding='SAME'), False)):
    params = conv.init(jax.random.key(4), x)
    ours = conv.clone(conv_general_dilated=layers.conv_general_dilated)
    assert ('custom_vjp' in str(jax.make_jaxpr(ours.apply)(params, x))) == routed
    np.testing.assert_allclose(ours.apply(params, x), conv.apply(params, x), atol=1e-5)
    gx = jax.grad(lambda x: jnp.sum(ours.apply(params, x) ** 2))(x)
    ref = jax.grad(lambda x: jnp.sum(conv.apply(params, x) ** 2))(x)
    np.testing.assert_allclose(gx, ref, rtol=1e-4, atol=1e-4)


def test_init_variables_is_the_module_s_init_compiled_once_and_works_under_a_trace():
  net = nn.Sequential([nn.Dense(5), nn.relu, nn.Dense(3)])
  x = jnp.ones((2, 4))
  ours = layers.init_variables(net, jax.random.key(5), x)
  ref = net.init(jax.random.key(5), x)
  chex.assert_trees_all_equal_shapes(ours, ref)
  chex.assert_trees_all_close(ours, ref, atol=1e-6)   # Unoptimised code: the last bit may move.
  other = layers.init_variables(net, jax.random.key(6), x)
  assert not np.allclose(other['params']['layers_0']['kernel'], ref['params']['layers_0']['kernel'])
  shapes = jax.eval_shape(lambda: layers.init_variables(net, jax.random.key(5), x))
  chex.assert_trees_all_equal_shapes(shapes, ref)
