"""Names run together in print credits, cut at surnames."""

import pytest

from transforms.stages.news.names import split_names


@pytest.mark.parametrize(
    ("run", "names"),
    [
        ("谭元斌", ["谭元斌"]),
        ("周洪", ["周洪"]),
        ("欧阳小明", ["欧阳小明"]),
        ("扎西次仁", ["扎西次仁"]),  # four characters that are not two names
        ("李锦赵承", ["李锦", "赵承"]),
        ("李济国贾建舟", ["李济国", "贾建舟"]),
        ("周德会夏立凯", ["周德会", "夏立凯"]),
        ("严正孙勇军", ["严正", "孙勇军"]),
        ("何伟余继军", ["何伟", "余继军"]),
        # Both cuts fit; the commoner surname wins: 刘 over 云.
        ("康新云刘俊", ["康新云", "刘俊"]),
        ("曹照琴谢国明王尧", ["曹照琴", "谢国明", "王尧"]),
    ],
)
def test_runs_of_names_are_cut_at_surnames(run, names):
    assert split_names(run) == names


@pytest.mark.parametrize(
    "run",
    [
        "下转第二版",
        "x",
        "张三abc",
        "第一二三四五",
        "孟西安祁勇",  # 孟西安 and 祁勇, or 孟西 and 安祁勇: a guess, so not read
    ],
)
def test_what_no_cut_fits_or_two_fit_alike_is_not_names(run):
    assert split_names(run) is None
