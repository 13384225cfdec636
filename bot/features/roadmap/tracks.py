"""Which track a learner is on, from keyword rules over their background (and, weakly, goal).

Rules (case-insensitive substring matches, zh and en):

* A role noun ("程序员", "teacher", "律师", "博主"...) scores 3, a topical word ("python", "课堂",
  "法律", "短视频"...) scores 1. Words in the goal count half: the background says who you
  are, the goal only hints at it.
* Coding negations ("不会编程", "不懂代码", "no coding", "non-technical"...) are removed before
  matching and set ``no_code``; the builder track is then ruled out.
* Highest score wins; ties go to educator > domain_expert > builder > creator, because in a
  mixed description the rarer, more specific role is the one the plan must serve
  ("律师兼博主" is served as a lawyer; "AI创作教育者" scores higher as an educator anyway).
* Nothing matched -> ``general``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

ROLE, TOPIC = 3.0, 1.0
GOAL_WEIGHT = 0.5
PRECEDENCE = ("educator", "domain_expert", "builder", "creator")

NO_CODE = (
    "不会编程", "不懂编程", "不会写代码", "不会代码", "不懂代码", "没有编程", "没学过编程", "零编程", "非技术",
    "不写代码", "无编程", "编程零基础", "不是程序员", "非程序员", "no coding", "no code", "no-code", "can't code",
    "cannot code",
    "don't code", "do not code", "not a programmer", "not a developer", "non-technical", "nontechnical",
    "no programming", "without coding", "without programming",
)

RULES: dict[str, dict[str, float]] = {
    "builder": {
        **dict.fromkeys(("开发者", "开发工程师", "程序员", "工程师", "码农", "架构师", "全栈", "后端", "前端", "算法",
                         "developer", "engineer", "programmer", "backend", "back-end", "frontend", "front-end",
                         "full-stack", "fullstack", "software", "coder", "devops", "data scientist", "sre"), ROLE),
        **dict.fromkeys(("编程", "代码", "开发", "python", "java", "golang", "javascript", "typescript", "api",
                         "数据科学", "机器学习", "coding", "programming", "machine learning", "rag", "微调",
                         "fine-tun", "部署", "deploy"), TOPIC),
    },
    "educator": {
        **dict.fromkeys(("老师", "教师", "讲师", "教授", "助教", "班主任", "教研", "教育者", "培训师", "家教",
                         "teacher", "educator", "instructor", "lecturer", "professor", "tutor", "trainer"), ROLE),
        **dict.fromkeys(("教学", "教育", "课堂", "学生", "课程", "培训", "teaching", "classroom", "students",
                         "school", "course", "curriculum", "lesson"), TOPIC),
    },
    "domain_expert": {
        **dict.fromkeys(("医生", "医师", "护士", "药师", "律师", "法务", "会计", "审计", "分析师", "咨询师", "顾问",
                         "研究员", "专家", "doctor", "physician", "nurse", "pharmacist", "lawyer", "attorney",
                         "paralegal", "accountant", "auditor", "analyst", "consultant", "researcher", "expert"), ROLE),
        **dict.fromkeys(("医疗", "医学", "医院", "临床", "法律", "法务", "合同", "金融", "财务", "投资", "保险",
                         "medical", "medicine", "clinical", "legal", "law", "finance", "financial", "healthcare",
                         "compliance"), TOPIC),
    },
    "creator": {
        **dict.fromkeys(("内容创作者", "创作者", "自媒体", "博主", "up主", "主播", "作者", "作家", "编辑", "记者",
                         "设计师", "插画师", "摄影师", "文案", "运营", "creator", "writer", "blogger", "youtuber",
                         "influencer", "designer", "illustrator", "photographer", "copywriter", "editor",
                         "journalist", "marketer", "artist", "podcaster"), ROLE),
        **dict.fromkeys(("内容", "创作", "写作", "短视频", "视频", "小红书", "抖音", "b站", "公众号", "营销",
                         "content", "writing", "video", "marketing", "social media", "newsletter", "design"), TOPIC),
    },
}


@dataclass
class TrackMatch:
    track: str
    no_code: bool = False
    scores: dict[str, float] = field(default_factory=dict)
    matched: list[str] = field(default_factory=list)


def _strip_no_code(text: str) -> tuple[str, bool]:
    found = False
    for phrase in NO_CODE:
        if phrase in text:
            found = True
            text = text.replace(phrase, " ")
    return text, found


def _ascii_hit(word: str, text: str) -> bool:
    # Short English words need word boundaries ("api" must not fire inside "rapid", "law" in "flawless").
    return re.search(rf"(?<![a-z]){re.escape(word)}", text) is not None


def _score(text: str, weight: float, scores: dict[str, float], matched: list[str]) -> None:
    for track, words in RULES.items():
        for word, w in words.items():
            hit = _ascii_hit(word, text) if word.isascii() else word in text
            if hit:
                scores[track] += w * weight
                matched.append(f"{track}:{word}")


def classify_track(background: str, goal: str = "") -> TrackMatch:
    bg, no_code_bg = _strip_no_code((background or "").lower())
    gl, no_code_goal = _strip_no_code((goal or "").lower())
    scores = dict.fromkeys(RULES, 0.0)
    matched: list[str] = []
    _score(bg, 1.0, scores, matched)
    _score(gl, GOAL_WEIGHT, scores, matched)
    no_code = no_code_bg or no_code_goal
    if no_code:
        scores["builder"] = 0.0
    best = max(scores.values())
    if best <= 0:
        return TrackMatch("general", no_code, scores, matched)
    track = next(t for t in PRECEDENCE if scores[t] == best)
    return TrackMatch(track, no_code, scores, matched)
