"""Taking news text apart: datelines, credits, captions and furniture, and a body that keeps
its prose (a sentence that mentions 记者 stays)."""

import datetime

import pytest

from transforms.stages.news.parts import split_news

BODY = "抗疫战场，白衣战士执甲逆行，志愿者们站在他们背后，默默呵护这些“最可爱的人”。"
MORE = "从除夕前一天开始，一群热心的志愿者活跃在武汉抗疫一线。"


@pytest.mark.parametrize(
    ("opening", "agency", "place", "date", "reporters"),
    [
        ("新华社武汉3月24日电（记者谭元斌）", "新华社", "武汉", "--03-24", ["谭元斌"]),
        (
            "央广网河南分网2月21日消息（记者 汪宁 通讯员 甄浩鹏）",
            "央广网河南分网",
            None,
            "--02-21",
            ["汪宁", "甄浩鹏"],
        ),
        ("央广网上海2月9日消息（记者周洪）", "央广网", "上海", "--02-09", ["周洪"]),
        ("本报北京1月1日讯 记者张三、李四报道：", "本报", "北京", "--01-01", ["张三", "李四"]),
        ("据新华社莫斯科1月1日电", "新华社", "莫斯科", "--01-01", []),
        ("新华社约翰内斯堡12月31日电（记者王大为）", "新华社", "约翰内斯堡", "--12-31", ["王大为"]),
        ("本报济南十二月三十一日电", "本报", "济南", "--12-31", []),
        ("本报讯（记者 刘洋 通讯员 王敏）", "本报", None, None, ["刘洋", "王敏"]),
        ("湖北日报武汉3月24日讯（记者张三）", "湖北日报", "武汉", "--03-24", ["张三"]),
        ("新华社九江2月3日电（记者李四）", "新华社", "九江", "--02-03", ["李四"]),
        # People's Daily, 1998: no date, or no space, a place with its country, and
        # names run together.
        ("本报福州电记者赵鹏报道：", "本报", "福州", None, ["赵鹏"]),
        (
            "据新华社乌鲁木齐电（记者张先国、段芝璞）",
            "新华社",
            "乌鲁木齐",
            None,
            ["张先国", "段芝璞"],
        ),
        ("据新华社电", "新华社", None, None, []),
        (
            "新华社达沃斯（瑞士）1月29日电（记者李敬臣）",
            "新华社",
            "达沃斯（瑞士）",
            "--01-29",
            ["李敬臣"],
        ),
        (
            "本报北京1月16日讯新华社记者汪金福、本报记者苏宁报道：",
            "本报",
            "北京",
            "--01-16",
            ["汪金福", "苏宁"],
        ),
        (
            "本报比勒陀利亚12月30日电记者温宪，中国国际广播电台记者殷立青报道：",
            "本报",
            "比勒陀利亚",
            "--12-30",
            ["温宪", "殷立青"],
        ),
    ],
)
def test_the_opening_dateline_gives_its_parts_and_leaves_the_body(
    opening, agency, place, date, reporters
):
    parts = split_news(f"{opening}{BODY}\n{MORE}")
    assert parts.dateline == opening
    assert (parts.agency, parts.place, parts.news_date()) == (agency, place, date)
    assert parts.credits.reporters == reporters
    assert parts.body == [BODY, MORE]


@pytest.mark.parametrize(
    "opening",
    [
        "新华社电视台今天播出了专题片。",  # 电视, not 电
        "晚报社区版今起改版。",
        "本报讯息平台上线。",
        "湖北日报记者来电说，",  # a generic outlet without a date: only before a credit
    ],
)
def test_what_only_looks_like_a_dateline_is_prose(opening):
    parts = split_news(f"{opening}{BODY}")
    assert parts.dateline is None and parts.body == [f"{opening}{BODY}"]


def test_reporters_named_by_the_first_words_after_a_dateline():
    parts = split_news(f"本报北京一月十九日讯记者杨振武、孟宪励从此间召开的会议上了解到，{BODY}")
    assert parts.credits.reporters == ["杨振武", "孟宪励"]
    assert split_news(f"本报北京1月2日讯记者日前在上海采访时了解到，{BODY}").credits.reporters == []


def test_a_picture_mark_does_not_end_the_heading_above_a_byline():
    parts = split_news(f"《百年恩来》：要说的太多（附图片1张）\n本报记者向兵\n{BODY}")
    assert parts.credits.reporters == ["向兵"] and parts.sources == ["本报"]
    assert parts.body == ["《百年恩来》：要说的太多（附图片1张）", BODY]


def test_a_titled_wire_story_keeps_its_title_and_gives_the_byline_below():
    parts = split_news(f"新华社北京3月4日电  题：奋力谱写新篇章\n新华社记者 张三 李四\n{BODY}")
    assert parts.dateline == "新华社北京3月4日电" and parts.credits.reporters == ["张三", "李四"]
    assert parts.body == ["题：奋力谱写新篇章", BODY]


def test_a_dateline_after_a_subtitle_is_found_and_the_subtitle_stays():
    parts = split_news(f"武汉守护医者联盟志愿服务记\n新华社武汉3月24日电（记者谭元斌）{BODY}")
    assert parts.dateline == "新华社武汉3月24日电（记者谭元斌）"
    assert parts.body == ["武汉守护医者联盟志愿服务记", BODY]


def test_a_reporter_named_by_the_first_words_is_credited_and_the_prose_stays():
    parts = split_news(f"本报北京12月31日讯 记者陈陆军从广播电影电视部获悉：{BODY}")
    assert parts.credits.reporters == ["陈陆军"]
    assert parts.body == [f"记者陈陆军从广播电影电视部获悉：{BODY}"]


def test_prose_that_mentions_reporters_and_editors_stays_where_it_is():
    prose = [
        "记者从浙江省疫情防控工作领导小组办公室获悉，浙江宣布疫情防控转向精密型智控。",
        "“我们正组织电商平台进行对接。”工信部有关负责人告诉记者。",
        "该报编辑部主任王强说，编辑们连夜加班。",
        "新华社记者在武汉采访时看到，街头已经恢复了往日的热闹。",
        "时间紧任务重，大家都很辛苦。",
    ]
    parts = split_news("\n".join(prose))
    assert parts.body == prose
    assert not parts.credits and parts.dateline is None and not parts.boilerplate


def test_a_byline_line_gives_its_outlet_and_reporters():
    parts = split_news(f"标题在此\n新华社记者于长洪、张洪河、刘懿德\n{BODY}")
    assert parts.credits.reporters == ["于长洪", "张洪河", "刘懿德"]
    assert parts.sources == ["新华社"]
    assert parts.body == ["标题在此", BODY]
    assert parts.boilerplate == ["新华社记者于长洪、张洪河、刘懿德"]


def test_captions_and_photo_credits_leave_the_body_and_credit_the_photographer():
    lines = [
        f"新华社武汉3月24日电（记者谭元斌）{BODY}",
        "宝丰县大营镇政府机关大院捐款活动现场（央广网发 通讯员 吴豪博 供图）",
        "▲3月5日傍晚，在武汉大学人民医院东院，医疗队员在护送患者途中停下。 新华社发（甘俊超摄）",
        MORE,
        "图为志愿者在社区门口值守。",
        "新华社记者才扬摄",
        "（传真照片）",
    ]
    parts = split_news("\n".join(lines))
    assert parts.captions == [lines[1], lines[2], lines[4]]
    assert parts.credits.reporters == ["谭元斌", "吴豪博", "甘俊超", "才扬"]
    assert parts.boilerplate == ["新华社记者才扬摄", "（传真照片）"]
    assert parts.body == [BODY, MORE]


def test_the_tail_gives_closing_credits_editors_and_furniture():
    lines = [
        BODY,
        MORE,
        "（湖北日报全媒记者 蔡朝阳 唐晓安）",
        "（完）",
        "责任编辑：王洁 校对：李明",
        "来源：湖北日报",
        "版权所有 © 湖北日报传媒集团 鄂ICP备12345678号",
        "分享到：微信 微博 QQ空间",
    ]
    parts = split_news("\n".join(lines))
    assert parts.body == [BODY, MORE]
    assert parts.boilerplate == lines[2:]
    assert parts.credits.reporters == ["蔡朝阳", "唐晓安"]
    assert parts.credits.editors == ["王洁", "李明"]
    assert parts.sources == ["湖北日报"]


def test_a_caption_above_the_byline_does_not_end_the_head():
    caption = "武汉高科集团下沉党员在社区核对出入人员名单。 （湖北日报全媒记者 田悦 摄）"
    parts = split_news(f"{caption}\n湖北日报全媒记者 蔡朝阳 唐晓安\n{BODY}")
    assert parts.captions == [caption] and parts.body == [BODY]
    assert parts.credits.reporters == ["田悦", "蔡朝阳", "唐晓安"]
    assert parts.boilerplate == ["湖北日报全媒记者 蔡朝阳 唐晓安"]


def test_prose_at_the_end_that_mentions_a_prompt_word_stays():
    last = "测温枪测温、出示二维码、查看扫码后的登记信息……呼和浩特市恒泰盛都小区门前，李俊平叮嘱晚归居民注意做好防护措施。"
    short = "居民扫码登记后进入小区。"
    parts = split_news(f"{BODY}\n{last}\n{short}\n扫码关注我们")
    assert parts.body == [BODY, last, short]
    assert parts.boilerplate == ["扫码关注我们"]


def test_a_credit_that_closes_the_last_paragraph_is_taken_out_of_it():
    ending = "我们坚信，武汉人民一定能早日迎来疫去花开。"
    parts = split_news(f"{BODY}\n{ending}（记者 蔡朝阳 唐晓安）\n责任编辑：王洁")
    assert parts.body == [BODY, ending]
    assert parts.boilerplate == ["（记者 蔡朝阳 唐晓安）", "责任编辑：王洁"]
    assert (parts.credits.reporters, parts.credits.editors) == (["蔡朝阳", "唐晓安"], ["王洁"])
    dated = split_news(f"{BODY}\n{ending}（记者张辛欣、安蓓）新华社北京3月6日电")
    assert dated.body == [BODY, ending] and dated.credits.reporters == ["张辛欣", "安蓓"]
    assert (dated.agency, dated.place, dated.news_date()) == ("新华社", "北京", "--03-06")


def test_a_closing_paren_that_credits_nobody_stays_in_the_prose():
    for ending in ("会议在北京举行。（下转第二版）", "他说。（据说如此）", "一位记者说：（张三）"):
        parts = split_news(f"{BODY}\n{ending}")
        assert parts.body == [BODY, ending], ending
        assert parts.credits.reporters == []


def test_end_marks_and_credits_that_close_the_last_paragraph_are_taken_one_by_one():
    parts = split_news(f"{BODY}\n此事仍在调查中。（记者 张三）（完）")
    assert parts.body == [BODY, "此事仍在调查中。"]
    assert parts.boilerplate == ["（记者 张三）", "（完）"]
    assert parts.credits.reporters == ["张三"]
    sourced = split_news(f"{BODY}\n此事仍在调查中。（据新华社电）")
    assert sourced.body == [BODY, "此事仍在调查中。"] and sourced.sources == ["新华社"]
    column = split_news(f"{BODY}\n（本栏均据新华社）")
    assert column.body == [BODY] and column.sources == ["新华社"]


def test_source_lines_and_closing_datelines_in_the_tail():
    lines = [BODY, "（中央广播电视总台央视网）"]
    parts = split_news("\n".join(lines))
    assert parts.body == [BODY] and parts.sources == ["中央广播电视总台央视网"]
    parts = split_news(f"{BODY}\n新华社记者（新华社北京3月10日电）")
    assert parts.body == [BODY] and parts.credits.reporters == []
    assert (parts.dateline, parts.agency, parts.place) == ("新华社北京3月10日电", "新华社", "北京")
    # A paren group that is not a dateline, after words that are not a credit, stays.
    for last in ("记者手记（三）", "全国两会特别报道（新华社北京3月10日电）"):
        assert split_news(f"{BODY}\n{last}").body == [BODY, last], last


def test_tail_credits_keep_their_order():
    parts = split_news(f"{BODY}\n（记者 张三）\n（通讯员 李四）")
    assert parts.credits.reporters == ["张三", "李四"]


def test_names_alone_in_the_parentheses_that_close_an_article_are_its_reporters():
    parts = split_news(f"{BODY}\n{MORE}（杜中武孙传刚）")
    assert parts.credits.reporters == ["杜中武", "孙传刚"] and parts.body == [BODY, MORE]
    for ending in ("（下转第二版）", "（外一首）", "（辽宁）", "（张滨作）", "（全文完）"):
        kept = split_news(f"{BODY}\n{MORE}{ending}")
        assert kept.credits.reporters == [], ending


def test_a_closing_dateline_below_which_a_picture_hangs():
    lines = [
        BODY,
        "我们祝愿“微笑列车”早日起程。（本报纽约1月26日电）",
        "图片：",
        "图为王嘉廉在“微笑列车”模型前。（新华社记者毛众役摄）",
    ]
    parts = split_news("\n".join(lines))
    assert (parts.dateline, parts.place, parts.news_date()) == (
        "本报纽约1月26日电",
        "纽约",
        "--01-26",
    )
    assert parts.body == [BODY, "我们祝愿“微笑列车”早日起程。"]
    assert parts.captions == [lines[3]] and parts.credits.reporters == ["毛众役"]
    assert parts.boilerplate == ["（本报纽约1月26日电）", "图片："]


def test_a_caption_glued_to_a_paragraph_is_cut_off_it():
    prose = "许多企业全力以赴确保医疗物资生产供应，为打赢阻击战提供有力支撑。"
    caption = "图为2020年2月11日，宁波的员工正在抓紧组装CT机。 人民图片 陈张坤/摄"
    parts = split_news(f"{BODY}\n{prose}{caption}\n{MORE}")
    assert parts.body == [BODY, prose, MORE]
    assert parts.captions == [caption] and parts.credits.reporters == ["陈张坤"]


def test_a_photographers_report_credits_by_its_suffix():
    parts = split_news(f"乡野，扬起欢笑\n邢永臣摄影报道\n{BODY}")
    assert parts.credits.reporters == ["邢永臣"] and parts.body == ["乡野，扬起欢笑", BODY]


def test_bullets_other_than_the_caption_triangle_open_list_items():
    items = ["△国家计委提出加强国际商业贷款管理。", "△财政部发出通知。"]
    parts = split_news("\n".join(items) + "（宋光茂）")
    assert parts.body == items and parts.captions == []
    assert parts.credits.reporters == ["宋光茂"]


def test_the_closing_datelines_of_a_compilation_are_furniture():
    text = f"{BODY}\n（新华社北京3月10日电）\n{MORE}\n新华社记者（新华社北京3月11日电）"
    parts = split_news(text)
    assert parts.body == [BODY, MORE]
    assert parts.dateline == "新华社北京3月10日电"


def test_a_print_edition_line_dates_a_dateline_without_year():
    text = f"本报北京3月4日电（记者张三）{BODY}\n《 人民日报 》（ 2021年03月05日 01 版）"
    parts = split_news(text)
    assert parts.published == datetime.date(2021, 3, 5)
    assert parts.news_date() == "2021-03-04"
    assert parts.boilerplate == ["《 人民日报 》（ 2021年03月05日 01 版）"]


def test_a_closing_credit_with_a_dateline_after_it():
    text = f"{BODY}\n（参与记者：涂超华、毛振华）新华社北京3月6日电"
    parts = split_news(text)
    assert parts.credits.reporters == ["涂超华", "毛振华"]
    assert (parts.agency, parts.place, parts.news_date()) == ("新华社", "北京", "--03-06")
    assert parts.body == [BODY]


def test_metadata_lines_near_the_top_are_furniture():
    lines = [
        f"央广网上海2月9日消息（记者周洪）{BODY}",
        "作者：上海市第四人民医院上海市第二批援鄂医疗队队员护士王妍",
        "地点：武汉市第三医院",
        "时间：2020.02.07",
        MORE,
    ]
    parts = split_news("\n".join(lines))
    assert parts.boilerplate == lines[1:4]
    assert parts.body == [BODY, MORE]
    # A 作者 that is not a name is not read as one; a 时间 line does not date the dateline.
    assert parts.credits.reporters == ["周洪"] and parts.news_date() == "--02-09"


def test_a_broken_credit_of_another_article_at_the_end_stays():
    text = f"{BODY}\n电（记者吴振东、郭敬丹、王默玲）"
    parts = split_news(text)
    assert parts.credits.reporters == [] and parts.body == text.split("\n")


def test_empty_text():
    parts = split_news("")
    assert parts.body == [] and parts.dateline is None
