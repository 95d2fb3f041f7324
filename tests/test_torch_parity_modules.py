"""Optional torch parity for the layer library (issue 7): each case builds the same module in
both libraries, copies PyTorch's state dict into tapegrad's by name (so the keys must match
exactly), then compares the outputs, the input gradient and every parameter's gradient, and
the buffers after the call (running statistics). Skips cleanly without torch."""
import zlib

import numpy as np
import pytest

import tapegrad as tg

torch = pytest.importorskip("torch")

# (constructor expression, input shapes, extra call kwargs as an expression or "")
# Inputs: "f:(shape)" floats requiring grad, "i<n>:(shape)" int64 in [0, n), "b:(shape)" bool.
CASES = [
    ("Identity()", ["f:(3, 4)"]),
    ("Linear(5, 3)", ["f:(2, 5)"]),
    ("Linear(5, 3, bias=False)", ["f:(2, 4, 5)"]),
    ("Bilinear(3, 4, 2)", ["f:(5, 3)", "f:(5, 4)"]),
    ("Flatten()", ["f:(2, 3, 4)"]),
    ("Unflatten(1, (2, 3))", ["f:(4, 6)"]),
    ("Conv1d(3, 4, 3, stride=2, padding=1)", ["f:(2, 3, 9)"]),
    ("Conv2d(4, 6, 3, groups=2, padding='same', padding_mode='reflect')", ["f:(2, 4, 7, 7)"]),
    ("Conv2d(3, 4, (2, 3), dilation=2, padding_mode='circular', padding=2)", ["f:(1, 3, 8, 8)"]),
    ("Conv3d(2, 3, 2, padding_mode='replicate', padding=1)", ["f:(1, 2, 4, 4, 4)"]),
    ("ConvTranspose1d(3, 2, 3, stride=2, output_padding=1)", ["f:(2, 3, 5)"]),
    ("ConvTranspose2d(4, 2, 3, stride=2, groups=2, dilation=1, padding=1)", ["f:(1, 4, 4, 4)"]),
    ("ConvTranspose3d(2, 2, 2, stride=2)", ["f:(1, 2, 2, 3, 2)"]),
    ("MaxPool1d(3, stride=2, ceil_mode=True)", ["f:(2, 3, 10)"]),
    ("MaxPool2d(2)", ["f:(2, 3, 6, 6)"]),
    ("MaxPool3d(2, stride=1, padding=1)", ["f:(1, 2, 3, 4, 4)"]),
    ("AvgPool1d(3, stride=2, padding=1, count_include_pad=False)", ["f:(2, 3, 9)"]),
    ("AvgPool2d(3, stride=2, ceil_mode=True, divisor_override=4)", ["f:(1, 2, 7, 7)"]),
    ("AvgPool3d(2)", ["f:(1, 2, 4, 4, 4)"]),
    ("AdaptiveAvgPool1d(4)", ["f:(2, 3, 10)"]),
    ("AdaptiveAvgPool2d((3, 5))", ["f:(1, 2, 7, 9)"]),
    ("AdaptiveMaxPool1d(3)", ["f:(2, 3, 10)"]),
    ("AdaptiveMaxPool2d((2, 3))", ["f:(1, 2, 7, 8)"]),
    ("LPPool2d(2, 2)", ["f:(1, 2, 6, 6)"]),
    ("Upsample(scale_factor=2, mode='bilinear', align_corners=False)", ["f:(1, 2, 3, 4)"]),
    ("Upsample(size=(5, 7), mode='nearest')", ["f:(1, 2, 3, 4)"]),
    ("PixelShuffle(2)", ["f:(1, 8, 3, 3)"]),
    ("PixelUnshuffle(2)", ["f:(1, 2, 4, 6)"]),
    ("Fold(output_size=(4, 5), kernel_size=2)", ["f:(1, 12, 12)"]),
    ("Unfold(kernel_size=2, stride=2)", ["f:(1, 3, 4, 6)"]),
    ("ZeroPad2d((1, 2, 0, 1))", ["f:(1, 2, 3, 3)"]),
    ("ConstantPad1d(2, 3.5)", ["f:(2, 3, 4)"]),
    ("ReflectionPad2d(2)", ["f:(1, 2, 4, 5)"]),
    ("ReplicationPad3d(1)", ["f:(1, 2, 2, 3, 3)"]),
    ("CircularPad1d((1, 2))", ["f:(2, 2, 4)"]),
    ("BatchNorm1d(3)", ["f:(4, 3)"]),
    ("BatchNorm1d(3, momentum=None)", ["f:(4, 3, 5)"]),
    ("BatchNorm2d(3, affine=False)", ["f:(2, 3, 4, 4)"]),
    ("BatchNorm3d(2, track_running_stats=False)", ["f:(2, 2, 2, 3, 3)"]),
    ("LayerNorm((4, 5))", ["f:(3, 4, 5)"]),
    ("LayerNorm(5, elementwise_affine=False)", ["f:(3, 5)"]),
    ("LayerNorm(5, bias=False)", ["f:(2, 3, 5)"]),
    ("GroupNorm(2, 4)", ["f:(3, 4, 5)"]),
    ("InstanceNorm1d(3, affine=True)", ["f:(2, 3, 6)"]),
    ("InstanceNorm2d(3, track_running_stats=True)", ["f:(2, 3, 4, 4)"]),
    ("RMSNorm(5)", ["f:(3, 5)"]),
    ("LocalResponseNorm(3)", ["f:(2, 5, 4)"]),
    ("Embedding(10, 4, padding_idx=0)", ["i10:(3, 5)"]),
    ("EmbeddingBag(10, 3, mode='mean')", ["i10:(4, 3)"]),
    ("ReLU()", ["f:(3, 4)"]),
    ("GELU(approximate='tanh')", ["f:(3, 4)"]),
    ("LeakyReLU(0.2)", ["f:(3, 4)"]),
    ("PReLU(3)", ["f:(2, 3, 4)"]),
    ("Softplus(beta=2.0)", ["f:(3, 4)"]),
    ("SiLU()", ["f:(3, 4)"]),
    ("Mish()", ["f:(3, 4)"]),
    ("ELU(alpha=0.5)", ["f:(3, 4)"]),
    ("Hardswish()", ["f:(3, 4)"]),
    ("Softmax(dim=1)", ["f:(3, 4)"]),
    ("LogSoftmax(dim=-1)", ["f:(3, 4)"]),
    ("GLU()", ["f:(3, 4)"]),
    ("Tanh()", ["f:(3, 4)"]),
    ("Sigmoid()", ["f:(3, 4)"]),
    ("CosineSimilarity(dim=1)", ["f:(3, 4)", "f:(3, 4)"]),
    ("PairwiseDistance()", ["f:(3, 4)", "f:(3, 4)"]),
    ("MSELoss()", ["f:(3, 4)", "f:(3, 4)"]),
    ("L1Loss(reduction='sum')", ["f:(3, 4)", "f:(3, 4)"]),
    ("SmoothL1Loss(beta=0.5)", ["f:(3, 4)", "f:(3, 4)"]),
    ("HuberLoss(delta=0.7)", ["f:(3, 4)", "f:(3, 4)"]),
    ("CrossEntropyLoss(label_smoothing=0.1)", ["f:(5, 4)", "i4:(5,)"]),
    ("NLLLoss()", ["f:(5, 4)", "i4:(5,)"]),
    ("KLDivLoss(reduction='batchmean')", ["f:(3, 4)", "f:(3, 4)"]),
    ("BCEWithLogitsLoss()", ["f:(3, 4)", "f:(3, 4)"]),
    ("SoftMarginLoss()", ["f:(3, 4)", "f:(3, 4)"]),
    ("MultiMarginLoss()", ["f:(5, 4)", "i4:(5,)"]),
    ("MultiheadAttention(8, 2, batch_first=True)", ["f:(2, 5, 8)", "f:(2, 5, 8)",
                                                    "f:(2, 5, 8)"]),
    ("MultiheadAttention(8, 2, kdim=6, vdim=4)", ["f:(5, 2, 8)", "f:(3, 2, 6)", "f:(3, 2, 4)"]),
    ("TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)",
     ["f:(2, 5, 8)"]),
    ("TransformerEncoderLayer(8, 2, 16, 0.0, activation='gelu', norm_first=True)",
     ["f:(5, 2, 8)"]),
    ("TransformerDecoderLayer(8, 2, 16, 0.0, batch_first=True)", ["f:(2, 4, 8)",
                                                                   "f:(2, 5, 8)"]),
    ("RNN(4, 3, num_layers=2, nonlinearity='relu')", ["f:(5, 2, 4)"]),
    ("LSTM(4, 3, batch_first=True, bidirectional=True)", ["f:(2, 5, 4)"]),
    ("GRU(4, 3, num_layers=2)", ["f:(5, 2, 4)"]),
    ("RNNCell(4, 3)", ["f:(2, 4)"]),
    ("LSTMCell(4, 3)", ["f:(2, 4)"]),
    ("GRUCell(4, 3)", ["f:(2, 4)"]),
]


def _inputs(specs, rng):
    ours, theirs = [], []
    for spec in specs:
        kind, shape = spec.split(":")
        shape = eval(shape)  # noqa: S307 (a literal shape from the table above)
        if kind == "f":
            arr = rng.standard_normal(shape)
            ours.append(tg.tensor(arr, requires_grad=True))
            theirs.append(torch.tensor(arr, requires_grad=True))
        else:
            arr = rng.integers(0, int(kind[1:]), shape)
            ours.append(tg.tensor(arr))
            theirs.append(torch.tensor(arr))
    return ours, theirs


def _flat(out):
    """The float tensors of a module's output (tuples, nested tuples, None skipped)."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [] if out is None else [out]


@pytest.mark.parametrize("expr,specs", CASES, ids=[c[0] for c in CASES])
def test_module_matches_torch(expr, specs):
    rng = np.random.default_rng(zlib.crc32(expr.encode()))
    theirs = eval("torch.nn." + expr).double()  # noqa: S307
    ours = eval("tg.nn." + expr).double()       # noqa: S307
    sd = theirs.state_dict()
    assert list(ours.state_dict()) == list(sd), "state_dict keys differ from PyTorch's"
    ours.load_state_dict({k: tg.tensor(v.numpy()) for k, v in sd.items()})
    x_ours, x_theirs = _inputs(specs, rng)
    if "Loss" in expr and len(x_ours) > 1:   # targets are data, not parameters
        x_ours[1], x_theirs[1] = x_ours[1].detach(), x_theirs[1].detach()
    if "KLDiv" in expr:                     # the input is log-probabilities
        x_ours[0] = tg.tensor(np.log(rng.uniform(0.1, 1, (3, 4))), requires_grad=True)
        x_theirs[0] = torch.tensor(x_ours[0].detach().numpy(), requires_grad=True)
    if "BCE" in expr or "KLDiv" in expr:    # targets in [0, 1]
        t = rng.uniform(0, 1, (3, 4))
        x_ours[1], x_theirs[1] = tg.tensor(t), torch.tensor(t)
    out_ours, out_theirs = _flat(ours(*x_ours)), _flat(theirs(*x_theirs))
    assert len(out_ours) == len(out_theirs)
    weights = [rng.standard_normal(tuple(o.shape)) for o in out_theirs]
    for o, t in zip(out_ours, out_theirs):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-9, atol=1e-10,
                                   err_msg=f"{expr}: output")
    if any(t.requires_grad for t in out_theirs):
        sum((o * tg.tensor(w)).sum() for o, w in zip(out_ours, weights)
            if o.requires_grad).backward()
        sum((t * torch.tensor(w)).sum() for t, w in zip(out_theirs, weights)
            if t.requires_grad).backward()
        for i, (a, b) in enumerate(zip(x_ours, x_theirs)):
            if b.grad is not None:
                np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8,
                                           atol=1e-10, err_msg=f"{expr}: input {i} grad")
        named = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            q = named[name]
            if q.grad is None:
                assert p.grad is None, f"{expr}: {name} has a grad in tapegrad only"
                continue
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-8, atol=1e-10,
                                       err_msg=f"{expr}: grad of {name}")
    for (name, b), (_, c) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_allclose(b.numpy(), c.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"{expr}: {name} after the call")


@pytest.mark.parametrize("expr", [c[0] for c in CASES], ids=[c[0] for c in CASES])
def test_module_repr_matches_torch(expr):
    theirs = repr(eval("torch.nn." + expr))  # noqa: S307
    ours = repr(eval("tg.nn." + expr))       # noqa: S307
    assert ours == theirs
