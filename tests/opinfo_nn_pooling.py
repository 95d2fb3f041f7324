"""Op database rows for tapegrad.nn.functional's pooling (see tests/opinfo.py for what a row
is; public functions are named 'F.<name>' in a row's api=)."""

ROWS = []
PARITY = []       # expressions over x, y, z, m (tests/test_torch_parity.py)
NN_PARITY = []    # nn_parity.Case entries with their own inputs (tests/test_torch_parity_nn.py)
