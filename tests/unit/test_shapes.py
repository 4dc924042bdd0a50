import pytest

from transformer.shapes import attention_cost, common_slip_shape, self_attention_shapes

NAMES = ["X", "W_Q", "W_K", "W_V", "Q", "K", "V", "scores", "scaled", "weights", "output"]


def test_coursework_q1_columns_layout():
    s = self_attention_shapes(768, 6)
    assert list(s) == NAMES
    assert s["X"] == (768, 6)
    assert s["W_Q"] == s["W_K"] == s["W_V"] == (768, 768)
    assert s["Q"] == s["K"] == s["V"] == (768, 6)
    assert s["scores"] == s["weights"] == (6, 6)
    assert s["output"] == (768, 6)
    assert s["scores"].formula == "K^T Q"
    assert str(s["output"]) == "[768, 6]"


def test_rows_layout_is_the_transpose():
    s = self_attention_shapes(768, 6, layout="rows")
    assert s["X"] == (6, 768) and s["Q"] == (6, 768) and s["weights"] == (6, 6) and s["output"] == (6, 768)
    assert s["scores"].formula == "Q K^T"


@pytest.mark.parametrize("d_model,n,d_k", [(1, 1, 1), (4, 3, 2), (4096, 512, 4096), (7, 512, 3), (4096, 1, 64)])
@pytest.mark.parametrize("layout", ["columns", "rows"])
def test_shapes_follow_d_k(d_model, n, d_k, layout):
    s = self_attention_shapes(d_model, n, d_k, layout)
    cols = layout == "columns"
    assert s["X"] == ((d_model, n) if cols else (n, d_model))
    assert s["W_Q"] == ((d_k, d_model) if cols else (d_model, d_k))
    assert s["Q"] == ((d_k, n) if cols else (n, d_k))
    assert s["weights"] == (n, n)
    assert s["output"] == ((d_k, n) if cols else (n, d_k))


def test_the_common_slip():
    assert common_slip_shape(768, 6) == (768, 768)
    assert common_slip_shape(768, 6, 64) == (64, 64)


def test_costs_of_coursework_q1():
    c = attention_cost(768, 6)
    assert c.projection_params == 3 * 768 * 768
    assert c.score_elements == 36
    assert c.macs["Q"] == 768 * 768 * 6
    assert c.macs["scores"] == 6 * 6 * 768
    assert c.total_macs == 3 * 768 * 768 * 6 + 2 * 36 * 768
    assert attention_cost(768, 12).quadratic_macs == 4 * c.quadratic_macs  # quadratic in tokens
    assert attention_cost(768, 12).linear_macs == 2 * c.linear_macs  # linear in tokens


@pytest.mark.parametrize(
    "args,match",
    [((0, 6), "d_model must be at least 1"), ((768, -1), "n_tokens must be at least 1"), ((768, 6, 0), "d_k"),
     ((7.5, 6), "whole number"), ((True, 6), "whole number")],
)
def test_bad_sizes(args, match):
    with pytest.raises(ValueError, match=match):
        self_attention_shapes(*args)


def test_bad_layout():
    with pytest.raises(ValueError, match="layout"):
        self_attention_shapes(8, 2, layout="diagonal")
