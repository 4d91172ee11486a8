"""Elastic Keras layers: one set of weights at the largest size, run at any smaller size by slicing.

Each layer holds its weights at the maximum channel count (and kernel size); a call takes the active
size as keyword arguments and uses the leading channels (and the centre of the kernel). The sliced
weights come from `sliced_weights(...)`, the same function `call` uses, so `extract` copies exactly the
numbers the supernet computes with. Input channels are always read from the input tensor.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402


def _check_positive(layer: str, **values):
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")


def _check_active(layer: str, name: str, value: int, maximum: int):
    if not 1 <= value <= maximum:
        raise ValueError(f"{layer}: active {name} {value} is outside 1..{maximum}")


class ElasticConv2D(keras.layers.Layer):
    """A square convolution (SAME padding, no bias) whose input and output channels are elastic.

    Used for the stem and the 1x1 expand / project convolutions: the kernel is fixed in size; the
    active kernel is `kernel[:, :, :in_channels, :filters]`.
    """

    def __init__(self, max_in_channels: int, max_filters: int, kernel_size: int = 1, strides: int = 1,
                 **kwargs):
        super().__init__(**kwargs)
        _check_positive(self.name, max_in_channels=max_in_channels, max_filters=max_filters,
                        kernel_size=kernel_size, strides=strides)
        self.max_in_channels, self.max_filters = max_in_channels, max_filters
        self.kernel_size, self.strides = kernel_size, strides

    def build(self, input_shape):
        _check_active(self.name, "input channels", int(input_shape[-1]), self.max_in_channels)
        shape = (self.kernel_size, self.kernel_size, self.max_in_channels, self.max_filters)
        self.kernel = self.add_weight("kernel", shape=shape, initializer="he_normal")
        super().build(input_shape)

    def sliced_weights(self, in_channels: int, filters: int) -> list[tf.Tensor]:
        """The kernel of the (in_channels -> filters) sub-convolution, Keras Conv2D layout."""
        _check_active(self.name, "input channels", in_channels, self.max_in_channels)
        _check_active(self.name, "filters", filters, self.max_filters)
        return [self.kernel[:, :, :in_channels, :filters]]

    def call(self, inputs, filters: int | None = None):
        (kernel,) = self.sliced_weights(int(inputs.shape[-1]), filters or self.max_filters)
        return tf.nn.conv2d(inputs, kernel, strides=self.strides, padding="SAME")

    def dynamic_call(self, inputs: tf.Tensor, filters: tf.Tensor) -> tf.Tensor:
        """`call` with `filters` a scalar tensor: one traced graph serves every channel count.

        The input channels come from the input's run-time shape; the kernel slice has the same
        numbers as `sliced_weights`, cast to the input's dtype (mixed precision computes in it).
        """
        in_channels = tf.shape(inputs)[-1]
        kernel = tf.cast(self.kernel[:, :, :in_channels, :filters], inputs.dtype)
        return tf.nn.conv2d(inputs, kernel, strides=self.strides, padding="SAME")

    def compute_output_shape(self, input_shape):
        """Shape at the largest size (a call with smaller `filters` has fewer channels)."""
        batch, height, width, _ = tf.TensorShape(input_shape).as_list()
        out = [None if d is None else -(-d // self.strides) for d in (height, width)]
        return tf.TensorShape([batch, *out, self.max_filters])

    def get_config(self):
        return dict(super().get_config(), max_in_channels=self.max_in_channels, max_filters=self.max_filters,
                    kernel_size=self.kernel_size, strides=self.strides)


class ElasticDepthwiseConv2D(keras.layers.Layer):
    """A depthwise convolution (SAME padding, no bias) with elastic kernel size and channels.

    The weight is the largest kernel; a smaller kernel is its centre crop (with SAME padding and odd
    kernels the centre stays aligned with the same input pixel for every size, so the crop is the
    natural smaller kernel). With `kernel_transform=True`, each step down (e.g. 7->5->3) also applies
    a learnt (k*k, k*k) matrix shared by all channels, initialised to identity (Once-for-All's
    kernel transformation); without it the smaller kernel is exactly the crop.
    """

    def __init__(self, max_channels: int, kernel_choices=(3, 5, 7), strides: int = 1,
                 kernel_transform: bool = False, **kwargs):
        super().__init__(**kwargs)
        kernel_choices = tuple(int(k) for k in kernel_choices)
        _check_positive(self.name, max_channels=max_channels, strides=strides)
        if not kernel_choices or any(k % 2 == 0 for k in kernel_choices) or \
                tuple(sorted(set(kernel_choices))) != kernel_choices:
            raise ValueError(f"{self.name}: kernel_choices must be increasing odd sizes, got {kernel_choices}")
        self.max_channels, self.kernel_choices, self.strides = max_channels, kernel_choices, strides
        self.kernel_transform = bool(kernel_transform)

    @property
    def max_kernel(self) -> int:
        return self.kernel_choices[-1]

    def build(self, input_shape):
        _check_active(self.name, "input channels", int(input_shape[-1]), self.max_channels)
        k = self.max_kernel
        self.depthwise_kernel = self.add_weight("depthwise_kernel", shape=(k, k, self.max_channels, 1),
                                                initializer="he_normal")
        self.transforms = {}
        if self.kernel_transform:
            for small in self.kernel_choices[:-1]:
                self.transforms[small] = self.add_weight(
                    f"transform_to_{small}", shape=(small * small, small * small), initializer="identity")
        super().build(input_shape)

    def sliced_weights(self, channels: int, kernel_size: int) -> list[tf.Tensor]:
        """The (kernel_size x kernel_size) kernel of the first `channels` channels, Keras layout."""
        _check_active(self.name, "channels", channels, self.max_channels)
        if kernel_size not in self.kernel_choices:
            raise ValueError(f"{self.name}: kernel size {kernel_size} is not one of {self.kernel_choices}")
        kernel = self.depthwise_kernel[:, :, :channels, :]
        for small in reversed(self.kernel_choices[:-1]):
            if small < kernel_size:
                break
            kernel = self._shrink(kernel, small)
        return [kernel]

    def _shrink(self, kernel: tf.Tensor, size: int) -> tf.Tensor:
        start = (int(kernel.shape[0]) - size) // 2
        crop = kernel[start:start + size, start:start + size]
        if not self.kernel_transform:
            return crop
        flat = tf.reshape(crop, (size * size, -1))
        return tf.reshape(tf.matmul(self.transforms[size], flat), tf.shape(crop))

    def call(self, inputs, kernel_size: int | None = None):
        (kernel,) = self.sliced_weights(int(inputs.shape[-1]), kernel_size or self.max_kernel)
        strides = (1, self.strides, self.strides, 1)
        return tf.nn.depthwise_conv2d(inputs, kernel, strides=strides, padding="SAME")

    def dynamic_call(self, inputs: tf.Tensor, kernel_index: tf.Tensor) -> tf.Tensor:
        """`call` with the kernel chosen by `kernel_index` (a scalar tensor into `kernel_choices`).

        The kernel is sliced at run time (its centre crop of the chosen size, the input's channel
        count), so one convolution op serves every choice; with kernel transforms the (small) kernel
        comes from one `tf.switch_case` branch per size. The numbers are `sliced_weights`'.
        """
        channels = tf.shape(inputs)[-1]
        strides = (1, self.strides, self.strides, 1)
        if self.kernel_transform and len(self.kernel_choices) > 1:
            def branch(size):
                return lambda: self.sliced_weights_dynamic(channels, size)
            kernel = tf.switch_case(kernel_index, [branch(size) for size in self.kernel_choices])
        else:
            size = tf.gather(tf.constant(self.kernel_choices), kernel_index)
            start = (self.max_kernel - size) // 2
            kernel = tf.slice(self.depthwise_kernel, tf.stack([start, start, 0, 0]),
                              tf.stack([size, size, channels, 1]))
        return tf.nn.depthwise_conv2d(inputs, tf.cast(kernel, inputs.dtype), strides=strides, padding="SAME")

    def sliced_weights_dynamic(self, channels: tf.Tensor, kernel_size: int) -> tf.Tensor:
        """`sliced_weights` for a run-time channel count (a static kernel size)."""
        kernel = self.depthwise_kernel[:, :, :channels, :]
        for small in reversed(self.kernel_choices[:-1]):
            if small < kernel_size:
                break
            kernel = self._shrink(kernel, small)
        return kernel

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = tf.TensorShape(input_shape).as_list()
        out = [None if d is None else -(-d // self.strides) for d in (height, width)]
        return tf.TensorShape([batch, *out, channels])

    def get_config(self):
        return dict(super().get_config(), max_channels=self.max_channels, kernel_choices=list(self.kernel_choices),
                    strides=self.strides, kernel_transform=self.kernel_transform)


class ElasticBatchNormalization(keras.layers.Layer):
    """Batch normalisation over the last axis whose statistics are sliced to the active channels.

    Training mode normalises with the batch statistics of the active channels and moves only their
    running statistics; the others keep their values. Inference uses the running statistics, with
    the same `tf.nn.batch_normalization` arithmetic as `keras.layers.BatchNormalization(fused=False)`.
    """

    def __init__(self, max_channels: int, momentum: float = 0.9, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        _check_positive(self.name, max_channels=max_channels)
        if not 0.0 <= momentum < 1.0 or epsilon <= 0.0:
            raise ValueError(f"{self.name}: need 0 <= momentum < 1 and epsilon > 0, got {momentum}, {epsilon}")
        self.max_channels, self.momentum, self.epsilon = max_channels, momentum, epsilon

    def build(self, input_shape):
        _check_active(self.name, "channels", int(input_shape[-1]), self.max_channels)
        shape = (self.max_channels,)
        self.gamma = self.add_weight("gamma", shape=shape, initializer="ones")
        self.beta = self.add_weight("beta", shape=shape, initializer="zeros")
        # ON_READ + MEAN as keras.layers.BatchNormalization: each replica keeps its own statistics and
        # reads outside replica context (checkpoints, extract) see their mean.
        stats = dict(shape=shape, trainable=False, synchronization=tf.VariableSynchronization.ON_READ,
                     aggregation=tf.VariableAggregation.MEAN)
        self.moving_mean = self.add_weight("moving_mean", initializer="zeros", **stats)
        self.moving_variance = self.add_weight("moving_variance", initializer="ones", **stats)
        super().build(input_shape)

    def sliced_weights(self, channels: int) -> list[tf.Tensor]:
        """[gamma, beta, moving_mean, moving_variance] of the first `channels`, Keras BN order."""
        _check_active(self.name, "channels", channels, self.max_channels)
        weights = (self.gamma, self.beta, self.moving_mean, self.moving_variance)
        return [_head(w, channels, self.max_channels) for w in weights]

    def call(self, inputs, training=None):
        channels = int(inputs.shape[-1])
        _check_active(self.name, "channels", channels, self.max_channels)
        gamma, beta = (_head(w, channels, self.max_channels) for w in (self.gamma, self.beta))
        if training:
            mean, variance = tf.nn.moments(inputs, axes=[0, 1, 2])
            self._move(self.moving_mean, mean, channels)
            self._move(self.moving_variance, variance, channels)
        else:
            mean, variance = (_head(w, channels, self.max_channels) for w in (self.moving_mean, self.moving_variance))
        return tf.nn.batch_normalization(inputs, mean, variance, beta, gamma, self.epsilon)

    def dynamic_call(self, inputs: tf.Tensor, mode: str, stats: tf.Tensor | None = None):
        """Batch normalisation over the input's run-time channel count; returns (output, stats).

        Modes:
            "train": batch statistics, and the running statistics of the active channels move
                (`call(training=True)`); `stats` out is None.
            "infer": the running statistics (`call(training=False)`).
            "collect": batch statistics, nothing moves; `stats` out is the batch mean and biased
                variance as a (2, max_channels) float32 tensor, zero beyond the active channels
                (BatchNorm re-estimation averages these over batches).
            "given": normalise with `stats` (as "collect" returns them) instead of the running ones.
        The arithmetic is float32 whatever the input's dtype (mixed precision), as Keras does.
        """
        channels = tf.shape(inputs)[-1]
        x = tf.cast(inputs, tf.float32)
        gamma, beta = self.gamma[:channels], self.beta[:channels]
        out_stats = None
        if mode == "train":
            y, mean, variance = _batch_norm_train(x, gamma, beta, self.epsilon)
            self._move_dynamic(self.moving_mean, mean, channels)
            self._move_dynamic(self.moving_variance, variance, channels)
            return tf.cast(y, inputs.dtype), None
        if mode == "collect":
            mean, variance = tf.nn.moments(x, axes=[0, 1, 2])
            out_stats = tf.pad(tf.stack([mean, variance]), [[0, 0], [0, self.max_channels - channels]])
        elif mode == "infer":
            mean, variance = self.moving_mean[:channels], self.moving_variance[:channels]
        elif mode == "given":
            mean, variance = stats[0, :channels], stats[1, :channels]
        else:
            raise ValueError(f"{self.name}: unknown mode {mode!r}")
        y = tf.nn.batch_normalization(x, mean, variance, beta, gamma, self.epsilon)
        return tf.cast(y, inputs.dtype), out_stats

    def _move_dynamic(self, variable, batch_value, channels: tf.Tensor):
        value = tf.convert_to_tensor(variable)
        head = value[:channels] * self.momentum + tf.stop_gradient(batch_value) * (1.0 - self.momentum)
        variable.assign(tf.concat([head, value[channels:]], axis=0))

    def _move(self, variable, batch_value, channels: int):
        value = tf.convert_to_tensor(variable)
        head = _head(value, channels, self.max_channels) * self.momentum
        head += tf.stop_gradient(batch_value) * (1.0 - self.momentum)
        if channels < self.max_channels:
            # Assign the whole vector (moved head + untouched tail): slice assignment is not available
            # on distributed (ON_READ) variables.
            head = tf.concat([head, value[channels:]], axis=0)
        variable.assign(head)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)

    def get_config(self):
        return dict(super().get_config(), max_channels=self.max_channels, momentum=self.momentum,
                    epsilon=self.epsilon)


def _batch_norm_train(x, gamma, beta, epsilon: float):
    """Training-mode batch normalisation over [n, h, w, c]: (output, batch mean, biased variance).

    The forward pass is the ops of `keras.layers.BatchNormalization(fused=False)` (`tf.nn.moments`
    then `tf.nn.batch_normalization`), so outputs and statistics equal a plain Keras model's. The
    gradient is the closed form (dx = gamma / sigma / n * (n dy - sum dy - x_hat sum(dy x_hat))),
    the same numbers up to rounding as differentiating those ops, with far fewer elementwise passes.
    """
    @tf.custom_gradient
    def normalise(x, gamma, beta):
        mean, variance = tf.nn.moments(x, axes=[0, 1, 2])
        y = tf.nn.batch_normalization(x, mean, variance, beta, gamma, epsilon)

        def grad(dy, dmean, dvariance):
            del dmean, dvariance  # the statistics only feed the running averages, under stop_gradient
            inv = tf.math.rsqrt(variance + epsilon)
            centred = x - mean
            count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), x.dtype)
            dbeta = tf.reduce_sum(dy, axis=[0, 1, 2])
            dgamma = tf.reduce_sum(dy * centred, axis=[0, 1, 2]) * inv
            # dx = gamma inv (dy - dbeta / n - x_hat dgamma / n), x_hat = centred inv, with the
            # per-channel factors gathered so that the whole tensors see 3 multiplies and 2 adds.
            scale = gamma * inv
            return (dy * scale + centred * (-scale * inv * dgamma / count) - scale * dbeta / count,
                    dgamma, dbeta)

        return (y, mean, variance), grad

    return normalise(x, gamma, beta)


def _head(weight, count: int, maximum: int) -> tf.Tensor:
    """weight[:count] (no slice op when the whole vector is active: eager training pays per op)."""
    value = tf.convert_to_tensor(weight)
    return value if count == maximum else value[:count]


class ElasticDense(keras.layers.Layer):
    """The classifier: a dense layer whose input features are elastic (`kernel[:in_features]`)."""

    def __init__(self, max_in_features: int, units: int, **kwargs):
        super().__init__(**kwargs)
        _check_positive(self.name, max_in_features=max_in_features, units=units)
        self.max_in_features, self.units = max_in_features, units

    def build(self, input_shape):
        _check_active(self.name, "input features", int(input_shape[-1]), self.max_in_features)
        self.kernel = self.add_weight("kernel", shape=(self.max_in_features, self.units),
                                      initializer="glorot_uniform")
        self.bias = self.add_weight("bias", shape=(self.units,), initializer="zeros")
        super().build(input_shape)

    def sliced_weights(self, in_features: int) -> list[tf.Tensor]:
        """[kernel, bias] for the first `in_features` inputs, Keras Dense order."""
        _check_active(self.name, "input features", in_features, self.max_in_features)
        return [self.kernel[:in_features], tf.convert_to_tensor(self.bias)]

    def call(self, inputs):
        kernel, bias = self.sliced_weights(int(inputs.shape[-1]))
        return tf.nn.bias_add(tf.matmul(inputs, kernel), bias)  # as keras.layers.Dense computes it

    def dynamic_call(self, inputs: tf.Tensor) -> tf.Tensor:
        """`call` over the input's run-time feature count (float32 logits under mixed precision)."""
        kernel = self.kernel[:tf.shape(inputs)[-1]]
        logits = tf.nn.bias_add(tf.matmul(inputs, tf.cast(kernel, inputs.dtype)), tf.cast(self.bias, inputs.dtype))
        return tf.cast(logits, tf.float32)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)[:-1].concatenate([self.units])

    def get_config(self):
        return dict(super().get_config(), max_in_features=self.max_in_features, units=self.units)
