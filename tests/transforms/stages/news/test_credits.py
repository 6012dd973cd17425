import pytest

from transforms.stages.news.credits import credit_outlet, credited_people


@pytest.mark.parametrize(
    ("segment", "reporters", "editors"),
    [
        ("记者 汪宁 通讯员 甄浩鹏", ["汪宁", "甄浩鹏"], []),
        ("新华社记者于长洪、张洪河、刘懿德", ["于长洪", "张洪河", "刘懿德"], []),
        ("央广网发 通讯员 吴豪博 供图", ["吴豪博"], []),
        ("湖北日报全媒记者 蔡朝阳 唐晓安", ["蔡朝阳", "唐晓安"], []),
        ("新华社记者戴浩摄", ["戴浩"], []),
        ("新华社记者胡晓梦、本报记者吴亚明报道", ["胡晓梦", "吴亚明"], []),
        ("参与记者：涂超华、毛振华", ["涂超华", "毛振华"], []),
        ("文/本报记者 张三 图/李四", ["张三", "李四"], []),
        ("记者 文静", ["文静"], []),
        ("责任编辑：王洁", [], ["王洁"]),
        ("编辑：张三 校对：李四", [], ["张三", "李四"]),
        ("新华社驻东京记者 王大为", ["王大为"], []),
        ("记者 买买提·吐尔逊", ["买买提·吐尔逊"], []),
        # Names run together, as print credits lose their spaces.
        ("本报记者李济国贾建舟", ["李济国", "贾建舟"], []),
        ("记者王芳李明陈刚", ["王芳", "李明", "陈刚"], []),
        ("新华社记者孙茂庆新华社通讯员钱友荣郭凯", ["孙茂庆", "钱友荣", "郭凯"], []),
        ("本报记者江玉《中国电力报》记者张大和", ["江玉", "张大和"], []),
        ("姜伟尚占摄影报道", ["姜伟", "尚占"], []),  # the suffix credits them
        ("湖北武汉市魏振华摄影报道", ["魏振华"], []),
    ],
)
def test_credits_give_the_people_they_name(segment, reporters, editors):
    people = credited_people(segment)
    assert people is not None
    assert (people.reporters, people.editors) == (reporters, editors)


@pytest.mark.parametrize(
    "segment",
    [
        "记者陈陆军从广播电影电视部获悉",  # prose
        "社区工作者用赤子之心换来群众的真理解与支持",
        "张三 李四",  # no role: not a credit
        "记者王芳下转第二版",  # a run that no cut into names fits
        "新华社发",
        "光谷分院",
    ],
)
def test_anything_but_a_credit_gives_no_one(segment):
    assert credited_people(segment) is None


def test_a_field_that_names_its_author_needs_no_role():
    assert credited_people("甘俊超摄", role_required=False).reporters == ["甘俊超"]
    assert credited_people("张三、李四", role_required=False).reporters == ["张三", "李四"]
    assert credited_people("周德会夏立凯", role_required=False).reporters == ["周德会", "夏立凯"]


@pytest.mark.parametrize("segment", ["下转第二版", "全文完", "续完", "图文无关", "略"])
def test_without_a_role_every_name_starts_with_a_surname(segment):
    assert credited_people(segment, role_required=False) is None


def test_the_outlet_of_a_credit_is_what_precedes_its_role():
    assert credit_outlet("新华社记者于长洪") == "新华社"
    assert credit_outlet("（央广网河南分网记者 汪宁）") == "央广网河南分网"
    assert credit_outlet("长江日报记者 张三") == "长江日报"  # not in the list: by its form
    assert credit_outlet("宋永昆摄影报道") is None  # 摄影报 is no outlet: no role follows it
    assert credit_outlet("3月24日") is None
