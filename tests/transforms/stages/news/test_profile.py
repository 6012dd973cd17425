"""Counting a set of kept documents' datelines, agencies and places, per shard and merged."""

import pyarrow as pa

from transforms.stages.news.profile import TOP, NewsProfile


def batch(agencies, places, datelines):
    return pa.table({"news_agency": agencies, "news_place": places, "dateline": datelines})


def test_a_profile_counts_datelines_and_ranks_agencies_and_places():
    profile = NewsProfile()
    profile.observe(batch(["新华社", "本报", "新华社", None], ["北京", None, "武汉", None],
                          ["新华社北京1月1日电", None, "新华社武汉1月2日电", None]))  # fmt: skip
    other = NewsProfile()
    other.observe(
        batch(["本报", "本报"], ["北京", "北京"], ["本报北京1月3日讯", "本报北京1月4日讯"])
    )
    profile.merge(NewsProfile.from_dict(other.to_dict()))
    assert profile.summary() == {
        "documents": 6,
        "with_dateline": 4,
        "with_agency": 5,
        "top_agencies": [["本报", 3], ["新华社", 2]],
        "top_places": [["北京", 3], ["武汉", 1]],
    }


def test_a_summary_lists_the_top_values_only_and_a_batch_without_news_counts_documents():
    profile = NewsProfile()
    places = [f"地方{i:02d}" for i in range(TOP + 5)]
    profile.observe(batch([None] * len(places), places, [None] * len(places)))
    profile.observe(pa.table({"text": ["正文"]}))
    summary = profile.summary()
    assert len(summary["top_places"]) == TOP and summary["top_places"][0] == ["地方00", 1]
    assert (summary["documents"], summary["with_dateline"], summary["top_agencies"]) == (16, 0, [])
