import pytest

from lab.analyses.quiz import Item, explain, multihead_question, parse_shape, shapes_question


@pytest.mark.parametrize("text", ["768, 6", "[768, 6]", "(768,6)", "768x6", "768 X 6", "768 × 6", " [768,6] ", "768*6"])
def test_accepted_formats(text):
    assert parse_shape(text) == (768, 6)


@pytest.mark.parametrize("text", ["", "768", "[1, 5, 12, 64]"])
def test_other_ranks_parse(text):
    assert parse_shape(text) == (tuple(int(x) for x in text.strip("[]").split(",")) if text else None)


@pytest.mark.parametrize("text", ["seven", "768; 6", "-1, 6", "768,", "<b>1</b>"])
def test_rejected_formats(text):
    assert parse_shape(text) is None


Q = Item("Q", (768, 6), ("d_model", "tokens"), "Q = W^Q X.")
SIZES = {"d_model": 768, "tokens": 6}


def test_right_answer_has_no_explanation():
    assert explain(Q, (768, 6), SIZES) is None


def test_wrong_axis_is_named_with_the_size_it_is():
    msg = explain(Q, (768, 768), SIZES)
    assert "axis 1 is tokens = 6, you wrote 768 (d_model is 768)" in msg


def test_swapped_axes_and_wrong_rank():
    assert "swapped" in explain(Q, (6, 768), SIZES)
    assert "has 2 axes (d_model × tokens), you gave 3" in explain(Q, (1, 768, 6), SIZES)
    assert "Write the shape as numbers" in explain(Q, None, SIZES)


def test_questions_come_from_the_package_and_are_seeded():
    q = shapes_question(3)
    assert q == shapes_question(3)
    n, d_k = q.sizes["tokens"], q.sizes["d_k"]
    by_name = {i.name: i.shape for i in q.items}
    assert by_name["Q"] == (d_k, n) and by_name["scores KᵀQ"] == (n, n) and by_name["Attention(Q, K, V)"] == (d_k, n)
    m = multihead_question(5)
    s = m.sizes
    shapes = {i.name: i.shape for i in m.items}
    assert shapes["qis_mh"] == (s["batch"], s["tokens"], s["heads"], s["head_dim"])
    assert shapes["attmat_mh"] == (s["batch"], s["heads"], s["tokens"], s["tokens"])
    assert shapes["zis"] == (s["batch"], s["tokens"], s["E"])
    assert len({shapes_question(i).setting for i in range(20)}) > 5  # questions vary
