"""Dictionary-based cross-lingual retrieval: the library's other-language words for a question's terms.

BM25 cannot match across scripts and e5-small matches an English question to Chinese passages only
loosely. The LLM translation (bot/retrieval/translate.py) bridges the two when a chat model is loaded; when
there is none (retrieval-only mode, translation off, or an unusable translation) a bilingual
glossary of the field's terms does part of the job with no model call. Its terms are searched by
BM25 only, gated like a translation (bot/retrieval/retriever.py). Without an LLM it lifts
cross-lingual retrieval most (the eval's ``--compare hybrid noglossary`` shows by how much). Beside
the local model's translation it lowered retrieval, so it is used instead of one, never with it.

The glossary covers learning generative AI — the library's subject — and study vocabulary. Admins
extend it with a TSV file (``STUDYBOT_GLOSSARY_FILE``: one "english<TAB>中文[<TAB>中文…]" per line).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

# english | 中文 (alternatives separated by "/"). Longer terms first is not needed: every match counts.
_TERMS = """
artificial intelligence | 人工智能
generative ai | 生成式AI/生成式人工智能/AIGC
aigc | AIGC/人工智能生成内容
machine learning | 机器学习
deep learning | 深度学习
neural network | 神经网络
large language model | 大语言模型/大模型
language model | 语言模型
llm | 大语言模型/大模型
foundation model | 基础模型/基座模型
pre-training | 预训练
pretraining | 预训练
pretrained | 预训练
fine-tuning | 微调
fine-tune | 微调
finetuning | 微调
fine-tuned | 微调
instruction tuning | 指令微调
lora | LoRA/低秩适配
parameter-efficient | 参数高效
rlhf | RLHF/人类反馈强化学习
reinforcement learning | 强化学习
human feedback | 人类反馈
alignment | 对齐
prompt engineering | 提示工程/提示词工程/Prompt工程
prompt | 提示词/提示/Prompt
prompting | 提示
chain of thought | 思维链
chain-of-thought | 思维链
few-shot | 少样本
zero-shot | 零样本
in-context learning | 上下文学习
context window | 上下文窗口
hallucination | 幻觉
retrieval-augmented generation | 检索增强生成/RAG
retrieval augmented generation | 检索增强生成/RAG
retrieval | 检索
embedding | 嵌入/向量/Embedding
vector database | 向量数据库
knowledge base | 知识库
agent | 智能体/Agent/代理
multimodal | 多模态
diffusion model | 扩散模型
image generation | 图像生成/图片生成
text generation | 文本生成
text-to-image | 文生图/文本生成图像
video generation | 视频生成
speech | 语音
transformer | Transformer
attention | 注意力
self-attention | 自注意力
token | token/词元
tokenizer | 分词器
parameters | 参数
inference | 推理
reasoning | 推理
deployment | 部署
deploy | 部署
quantization | 量化
distillation | 蒸馏
open source | 开源
open-source | 开源
benchmark | 基准/评测
evaluation | 评测/评估
dataset | 数据集
training data | 训练数据
data annotation | 数据标注
labeling | 标注
training | 训练
overfitting | 过拟合
gradient descent | 梯度下降
loss function | 损失函数
classification | 分类
regression | 回归
natural language processing | 自然语言处理
nlp | 自然语言处理/NLP
computer vision | 计算机视觉
gpu | GPU/显卡
cost | 成本/费用
api | API/接口
open-source model | 开源模型
model | 模型
algorithm | 算法
python | Python
programming | 编程
code | 代码
application | 应用
use case | 应用场景/场景
workflow | 工作流
automation | 自动化
tool | 工具
plugin | 插件
chatbot | 聊天机器人
copyright | 版权
ethics | 伦理
safety | 安全
privacy | 隐私
bias | 偏见
regulation | 监管
license | 许可证/协议
learning path | 学习路径/学习路线
roadmap | 路线图/学习路线
study plan | 学习计划
learning plan | 学习计划
beginner | 入门/初学者/新手
getting started | 入门
introduction | 入门/简介
advanced | 高级/进阶
intermediate | 中级
basics | 基础
fundamentals | 基础
prerequisite | 前置知识/基础
math | 数学
mathematics | 数学
linear algebra | 线性代数
probability | 概率
statistics | 统计
calculus | 微积分
practice | 实践/实战
hands-on | 实战/动手
project | 项目
portfolio | 作品集
course | 课程
tutorial | 教程
book | 书/书籍
paper | 论文
reading | 阅读
notes | 笔记
exercise | 练习
skill | 技能
knowledge | 知识
framework | 框架
career | 职业
job | 工作/岗位
role | 角色/岗位
engineer | 工程师
developer | 开发者
product manager | 产品经理
designer | 设计师
content creator | 内容创作者
creator | 创作者
researcher | 研究员
entrepreneur | 创业者
company | 企业/公司
enterprise | 企业
business | 商业
industry | 行业
domain | 领域
vertical | 垂直/垂类
value | 价值
efficiency | 效率
productivity | 生产力
writing | 写作
copywriting | 文案
marketing | 营销
social media | 社交媒体
education | 教育
stage | 阶段
phase | 阶段
step | 步骤
month | 月
week | 周
hours | 小时
goal | 目标
trend | 趋势
future | 未来
latest | 最新/前沿
frontier | 前沿
research | 研究
survey | 综述
history | 历史
development | 发展
method | 方法
strategy | 策略
"""


def _parse(text: str, sep: str) -> list[tuple[str, tuple[str, ...]]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or sep not in line:
            continue
        en, *zh = [p.strip() for p in line.split(sep)]
        alts = tuple(a.strip() for z in zh for a in z.split("/") if a.strip())
        if en and alts:
            out.append((en.lower(), alts))
    return out


def load(extra: str | None = None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The built-in pairs plus an admin's TSV file (a missing or unreadable file is an error:
    a typo in the setting should not silently turn the feature off). An edited file is re-read."""
    if not extra:
        return _load(None, 0.0)
    path = Path(extra).expanduser()
    return _load(str(path), path.stat().st_mtime)


@lru_cache(maxsize=8)
def _load(extra: str | None, mtime: float) -> tuple[tuple[str, tuple[str, ...]], ...]:
    pairs = _parse(_TERMS, "|")
    if extra:
        pairs += _parse(Path(extra).read_text(encoding="utf-8"), "\t")
    return tuple(pairs)


@lru_cache(maxsize=4096)
def _compiled(term: str) -> re.Pattern:
    # "model" matches "models", "fine-tune" matches "fine tune": plural and hyphen variants.
    body = r"[\s-]?".join(re.escape(p) for p in re.split(r"[\s-]+", term))
    return re.compile(rf"(?<![A-Za-z]){body}(?:s|es)?(?![A-Za-z])", re.I)


def glossary_terms(question: str, target: str, extra: str | None = None) -> list[str]:
    """The ``target``-language ('zh' or 'en') words for the glossary terms found in ``question``, in
    the order the question uses them, without repeats."""
    found: list[tuple[int, str]] = []
    seen: set[tuple[str, ...]] = set()
    for en, zh in load(extra):
        if target == "zh":
            m = _compiled(en).search(question)
            if m:
                found += [(m.start(), z) for z in zh]
        elif zh not in seen:  # "fine-tuning", "fine-tune", "finetuning": one English word for 微调 is enough
            pos = [p for z in zh if (p := question.find(z)) >= 0]
            if pos:
                seen.add(zh)
                found.append((min(pos), en))
    asked = question.lower()
    out: list[str] = []
    taken: set[str] = set()
    for _, t in sorted(found, key=lambda x: x[0]):
        key = t.lower()
        if key not in taken and key not in asked:
            taken.add(key)
            out.append(t)
    return out


def glossary_phrasing(question: str, target: str, extra: str | None = None) -> str | None:
    """The question's field terms in the other language, as one phrasing to search beside it."""
    terms = glossary_terms(question, target, extra)
    return " ".join(terms) if terms else None
