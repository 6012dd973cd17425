"""Benchmark: jieba against rjieba, speed and agreement, HMM on and off.

Run from the repository root:

    python bench/word_segmenters.py [--append bench/RESULTS.md]

Paragraphs come from ``data/sample/*.txt`` (HTML tags removed with a simple
regex, entities unescaped, lines stripped) plus a mixed Chinese / English /
number / technical set written below.  It prints a Markdown section; with
``--append`` it also appends it to the given file.

* Speed: characters per second of ``jieba.lcut`` and ``rjieba.cut`` on all
  paragraphs (repeated to about ``--min-chars`` characters), median of
  ``--runs`` runs each, run alternately in the same process so that load on
  the machine hits both alike.
* Agreement: share of paragraphs whose token lists are identical, comparing
  like with like (both HMM on, or both off), for pure-Chinese sample
  paragraphs (no ASCII letter or digit), sample paragraphs with ASCII letters
  or digits, and the mixed technical set; with HMM on, also counting only the
  tokens that contain a Chinese character.  Also how many paragraphs the HMM
  changes at all (jieba HMM on against off), and the first differences.
"""

from __future__ import annotations

import argparse
import html
import logging
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import jieba
import rjieba

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "data" / "sample"

# Mixed Chinese/English/number/technical text: where the two backends are
# known to differ (non-Chinese runs), so it is measured on its own.
MIXED_PARAGRAPHS: list[str] = [
    "在 Emacs 中按 C-x C-s 保存文件，按 C-x C-c 退出编辑器。",
    "项目已升级到 Python 3.11，并要求 pyarrow 17 以上版本。",
    "snappy 1.1.10 修复了一个在 ARM64 上的编译错误。",
    "COVID-19 疫情期间，远程办公的需求大幅增加。",
    "中国移动宣布已建成超过 100 万个 5G 基站，覆盖所有地级市。",
    "详情请访问 https://www.example.com/news?id=42&lang=zh 查看原文。",
    "开发者可以通过 pip install jieba==0.42.1 安装分词工具。",
    "iPhone 15 Pro 的售价为 7999 元，比上一代上涨了 3.5%。",
    "美国 U.S. 商务部公布，第三季度 GDP 按年率计算增长 4.9%。",
    "该模型在 ImageNet 上的 top-1 准确率达到 88.6%，参数量为 1.2B。",
    "Linux 内核 6.8-rc1 引入了新的 x86_64 调度器补丁。",
    "用户可在 GitHub 上提交 issue，或发送邮件至 support@example.org 反馈。",
    "新版 Chrome 120.0.6099.109 修复了 CVE-2023-6345 漏洞。",
    "会议将于 2024-03-15 14:30 在北京国际会议中心举行。",
    "使用 Ctrl+Alt+Del 组合键可以打开任务管理器。",
    "他在 Node.js 和 TypeScript 项目中使用 ESLint 检查代码风格。",
    "SQL 语句 SELECT * FROM users WHERE id = 1; 返回一行结果。",
    "研究人员使用 CRISPR-Cas9 技术编辑了 HBB 基因。",
    "A股三大指数集体收涨，沪指涨 1.23% 报 3,050.12 点。",
    "Wi-Fi 6E 路由器支持 6GHz 频段，最高速率可达 9.6Gbps。",
    "NASA 的 James Webb 太空望远镜拍摄到距离地球 1,000 光年的星云。",
    "该公司第 2 季度营收为 12.5 亿美元，同比增长 18%。",
    '在终端中运行 git commit -m "fix bug" 提交修改。',
    "TCP/IP 协议栈中，HTTP/2 运行在 TLS 1.3 之上。",
]

_TAG = re.compile(r"<[^>]+>")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")
_HAN = re.compile(r"[\u3400-\u9fff]")


def sample_paragraphs(folder: Path = SAMPLE_DIR) -> list[str]:
    """Non-empty stripped lines of the sample dumps, with HTML tags removed."""
    paragraphs: list[str] = []
    for path in sorted(folder.glob("*.txt")):
        text = html.unescape(_TAG.sub("", path.read_text(encoding="utf-8", errors="replace")))
        # Strip ASCII and ideographic spaces, as normalize does at line ends.
        paragraphs.extend(line.strip() for line in text.splitlines() if line.strip())
    return paragraphs


Cut = Callable[[str], list[str]]


def cutters() -> dict[str, Cut]:
    return {
        "jieba HMM on": lambda t: jieba.lcut(t, HMM=True),
        "jieba HMM off": lambda t: jieba.lcut(t, HMM=False),
        "rjieba HMM on": lambda t: rjieba.cut(t, hmm=True),
        "rjieba HMM off": lambda t: rjieba.cut(t, hmm=False),
    }


def chars_per_second(cut: Cut, corpus: Sequence[str], n_chars: int) -> float:
    started = time.perf_counter()
    for paragraph in corpus:
        cut(paragraph)
    return n_chars / (time.perf_counter() - started)


def measure_speed(
    corpus: Sequence[str], runs: int, pairs: Sequence[tuple[str, str]]
) -> dict[str, float]:
    """Median chars/s per cutter, the cutters of each pair run alternately."""
    cuts = cutters()
    n_chars = sum(len(p) for p in corpus)
    rates: dict[str, list[float]] = {name: [] for pair in pairs for name in pair}
    for _ in range(runs):
        for pair in pairs:
            for name in pair:
                rates[name].append(chars_per_second(cuts[name], corpus, n_chars))
    return {name: statistics.median(values) for name, values in rates.items()}


def agreement(a: Cut, b: Cut, paragraphs: Sequence[str]) -> tuple[int, list[tuple[str, str, str]]]:
    """Number of paragraphs with identical tokens, and the first few differing tokens."""
    same = 0
    examples: list[tuple[str, str, str]] = []
    for paragraph in paragraphs:
        ta, tb = a(paragraph), b(paragraph)
        if ta == tb:
            same += 1
        elif len(examples) < 3:
            examples.append((paragraph[:40], first_difference(ta, tb), first_difference(tb, ta)))
    return same, examples


def chinese_tokens(cut: Cut) -> Cut:
    """Only the tokens containing a Chinese character: where the backends disagree, is it there?"""
    return lambda text: [token for token in cut(text) if _HAN.search(token)]


def first_difference(tokens: list[str], other: list[str]) -> str:
    """The tokens of ``tokens`` around the first one that ``other`` does not share."""
    other_set = set(other)
    for i, token in enumerate(tokens):
        if token not in other_set:
            return " / ".join(tokens[max(0, i - 1) : i + 3])
    return "(same tokens, other order)"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def nproc() -> str:
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.1f}%)" if whole else "0/0"


def report(args: argparse.Namespace) -> str:
    jieba.setLogLevel(logging.WARNING)
    started = time.perf_counter()
    jieba.initialize()
    jieba_load = time.perf_counter() - started

    sample = sample_paragraphs()
    pure = [p for p in sample if not _ASCII_ALNUM.search(p)]
    with_ascii = [p for p in sample if _ASCII_ALNUM.search(p)]
    groups = {
        "sample, pure Chinese": pure,
        "sample, with ASCII letters/digits": with_ascii,
        "mixed technical (written)": MIXED_PARAGRAPHS,
    }

    every = sample + MIXED_PARAGRAPHS
    per_pass = sum(len(p) for p in every)
    corpus = every * max(1, -(-args.min_chars // per_pass))
    n_chars = sum(len(p) for p in corpus)
    pairs = [("jieba HMM on", "rjieba HMM on"), ("jieba HMM off", "rjieba HMM off")]
    speed = measure_speed(corpus, args.runs, pairs)

    cuts = cutters()
    lines = [
        "## Word segmenters: jieba vs rjieba (bench/word_segmenters.py)",
        "",
        f"- Command: `{args.command}`",
        f"- Machine: {nproc()} CPUs (nproc), {cpu_model()}; Python {platform.python_version()}, "
        f"jieba {jieba.__version__}, rjieba 0.2.2",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Text: {len(sample)} paragraphs from data/sample (HTML tags removed) + "
        f"{len(MIXED_PARAGRAPHS)} mixed technical paragraphs, {per_pass:,} characters, "
        f"repeated to {n_chars:,} characters for timing",
        f"- jieba dictionary load (from its temp-folder cache): {jieba_load:.2f} s",
        "",
        f"Speed, median of {args.runs} runs, alternating in one process:",
        "",
        "| HMM | jieba.lcut chars/s | rjieba.cut chars/s | rjieba / jieba |",
        "| --- | ---: | ---: | ---: |",
    ]
    for j, r in pairs:
        hmm = j.split("HMM ")[1]
        lines.append(f"| {hmm} | {speed[j]:,.0f} | {speed[r]:,.0f} | {speed[r] / speed[j]:.1f}x |")
    lines += [
        "",
        "Agreement, paragraphs with identical token lists (like with like):",
        "",
        "| paragraphs | HMM on: jieba = rjieba | HMM on: Chinese tokens only "
        "| HMM off: jieba = rjieba | jieba: HMM on = HMM off |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    examples: list[str] = []
    for label, paragraphs in groups.items():
        on, ex_on = agreement(cuts["jieba HMM on"], cuts["rjieba HMM on"], paragraphs)
        off, ex_off = agreement(cuts["jieba HMM off"], cuts["rjieba HMM off"], paragraphs)
        han_on, _ = agreement(
            chinese_tokens(cuts["jieba HMM on"]), chinese_tokens(cuts["rjieba HMM on"]), paragraphs
        )
        hmm_same, ex_hmm = agreement(cuts["jieba HMM on"], cuts["jieba HMM off"], paragraphs)
        n = len(paragraphs)
        lines.append(
            f"| {label} | {_pct(on, n)} | {_pct(han_on, n)} | {_pct(off, n)} "
            f"| {_pct(hmm_same, n)} |"
        )
        for what, found, left, right in (
            ("HMM on", ex_on, "jieba", "rjieba"),
            ("HMM off", ex_off, "jieba", "rjieba"),
            ("jieba", ex_hmm, "HMM on", "HMM off"),
        ):
            examples += [
                f"- {label}, {what}: `{a}` ({left}) vs `{b}` ({right}) in “{text}”"
                for text, a, b in found[:2]
            ]
    lines += ["", "First differences:", "", *examples, ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per cutter (median)")
    parser.add_argument(
        "--min-chars", type=int, default=500_000, help="characters per timed run, at least"
    )
    parser.add_argument("--append", type=Path, help="append the Markdown section to this file")
    args = parser.parse_args(argv)
    args.command = "python bench/word_segmenters.py" + "".join(
        f" {a}" for a in (sys.argv[1:] if argv is None else argv)
    )
    section = report(args)
    print(section)
    if args.append:
        new_file = not args.append.exists() or args.append.stat().st_size == 0
        with args.append.open("a", encoding="utf-8") as out:
            # Other benchmarks append their own sections: only add, never rewrite.
            out.write(("# Benchmark results\n\n" if new_file else "\n") + section)


if __name__ == "__main__":
    main()
