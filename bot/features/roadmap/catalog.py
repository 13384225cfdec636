# ruff: noqa: E501 - bilingual catalogue entries read best one per line
"""Candidate stage templates, each grounded in a seed document, and the order each track uses them in.

Seeds: 000 = the AI content-creation knowledge framework (role matrix, 阶段1-3), 001 = the
seven-stage AIGC study plan, 002 = "如何进入生成式 AI 的新范式", 003 = AI big models in content
creation, 004 = AIGC-era career planning. ``source`` names the section a template is taken from;
``queries`` find its supporting passages; ``keywords`` decide whether a passage (or the learner's
goal) actually talks about the stage. ``weight`` is the stage's relative length, from the seed
durations where they exist (1-2 months -> 1.5, 2-3 months -> 2.5).

Text fields are "中文 | English"; tasks are "做什么 => 交付物 | what to do => deliverable", so a
task without a deliverable cannot be written down.
"""
from __future__ import annotations

from dataclasses import dataclass

ALL_LEVELS = frozenset({"beginner", "intermediate", "advanced"})
NOT_ADVANCED = frozenset({"beginner", "intermediate"})
BEGINNER = frozenset({"beginner"})


@dataclass(frozen=True)
class Template:
    id: str
    title: tuple[str, str]
    topics: tuple[tuple[str, str], ...]
    tasks: tuple[tuple[str, str, str, str], ...]
    queries: tuple[str, ...]
    keywords: tuple[str, ...]
    source: str
    weight: float = 2.0
    levels: frozenset[str] = ALL_LEVELS
    needs_code: bool = False

    def title_in(self, lang: str) -> str:
        return self.title[0 if lang == "zh" else 1]

    def topics_in(self, lang: str) -> list[str]:
        return [t[0 if lang == "zh" else 1] for t in self.topics]

    def tasks_in(self, lang: str) -> list[str]:
        if lang == "zh":
            return [f"{do}（交付物：{out}）" for do, out, _, _ in self.tasks]
        return [f"{do} (deliverable: {out})" for _, _, do, out in self.tasks]


def _pair(text: str) -> tuple[str, str]:
    zh, sep, en = text.partition(" | ")
    assert sep and zh.strip() and en.strip(), f"need '中文 | English': {text!r}"
    return zh.strip(), en.strip()


def _task(text: str) -> tuple[str, str, str, str]:
    zh, en = _pair(text)
    zh_do, s1, zh_out = zh.partition(" => ")
    en_do, s2, en_out = en.partition(" => ")
    assert s1 and s2 and zh_out and en_out, f"a task needs a deliverable on both sides: {text!r}"
    return zh_do.strip(), zh_out.strip(), en_do.strip(), en_out.strip()


def _t(id: str, title: str, *, source: str, topics: list[str], tasks: list[str], queries: list[str],
       keywords: list[str], weight: float = 2.0, levels: frozenset[str] = ALL_LEVELS, code: bool = False) -> Template:
    return Template(id, _pair(title), tuple(_pair(t) for t in topics), tuple(_task(t) for t in tasks),
                    tuple(queries), tuple(keywords), source, weight, levels, code)


TEMPLATES: dict[str, Template] = {t.id: t for t in [
    # --- shared entry stages -------------------------------------------------------------------
    _t("genai_map", "生成式AI全景地图与最小必要知识 | The GenAI map and the minimum necessary knowledge",
       source="002 拿到一张地图 / 最小必要知识; 001 生成式AI概述", weight=1.0, levels=BEGINNER,
       topics=["四个方向：文生文、文生图、文生音频、文生视频 | The four directions: text, image, audio and video generation",
               "时间轴：《深度学习革命》与大语言模型综述 | The timeline: The Deep Learning Revolution and the LLM survey",
               "最小必要知识：生成式AI的原理与使用 | Minimum necessary knowledge: how generative AI works and how to use it",
               "生成式AI与判别式AI、应用场景 | Generative vs discriminative AI and where each is used",
               "T型学习：选一个方向深入 | T-shaped learning: pick one direction to go deep"],
       tasks=["画一张自己的AI领域地图（每个方向列3个代表产品） => 一页地图笔记 | Draw your own map of the field (three flagship products per direction) => a one-page map note",
              "四个方向各试用一个热门产品 => 试用记录与对比表 | Try one popular product in each direction => a trial log with a comparison table",
              "写下你的最小必要知识清单并选定深入方向 => 清单 + 300字方向说明 | List your minimum necessary knowledge and choose a direction => the list plus a 300-word rationale"],
       queries=["生成式AI 文生文 文生图 文生音频 文生视频", "最小必要知识 生成式AI的原理和使用", "进入新领域 拿到一张地图 时间轴 地平线"],
       keywords=["地图", "最小必要知识", "文生文", "文生图", "生成式", "时间轴", "范式", "map", "basics", "overview"]),
    _t("tools", "AI工具上手（工具掌握期） | Hands-on with AI tools (tool mastery)",
       source="000 阶段1：工具掌握期 / 关键工具技术栈; 002 新手村的打怪任务", weight=1.5, levels=NOT_ADVANCED,
       topics=["文本生成：ChatGPT、Claude、Gemini、文心一言、通义千问 | Text: ChatGPT, Claude, Gemini, ERNIE Bot, Qwen",
               "图像生成：Midjourney、Stable Diffusion、DALL·E 3 | Images: Midjourney, Stable Diffusion, DALL·E 3",
               "视频创作：Runway、Pika | Video: Runway and Pika",
               "声音与音乐：ElevenLabs、Suno | Voice and music: ElevenLabs and Suno",
               "效果追踪：Google Analytics | Tracking results: Google Analytics"],
       tasks=["完成新手村任务：大模型写文章、Midjourney出图、Suno生成音乐、Pika/Runway让图片动起来 => 4件作品 + 使用笔记 | Clear the starter quests: an LLM-written article, a Midjourney image, a Suno song, a Pika/Runway animation => four pieces plus usage notes",
              "精读 Midjourney 官方文档 => 参数速查表 | Read the Midjourney documentation closely => a parameter cheat sheet",
              "做对比 Prompt 实验（同一主题换不同写法） => 至少20组的实验记录表 | Run comparative prompt experiments (same subject, different wording) => a log of at least 20 pairs"],
       queries=["阶段1 工具掌握期 熟练使用主流AI工具", "新手村的打怪任务 Midjourney Suno Pika", "关键工具技术栈 文本生成 图像生成 视频创作"],
       keywords=["工具", "Midjourney", "Stable Diffusion", "ChatGPT", "Suno", "Pika", "Runway", "新手村", "ElevenLabs", "tool"]),
    _t("prompting", "结构化 Prompt 工程 | Structured prompt engineering",
       source="000 技术进阶方向 Prompt Engineering; 002 结构化 prompt 能力学习", weight=1.5,
       topics=["结构化 prompt 写作 | Writing structured prompts",
               "OpenAI 与 Claude 官方 Prompt 最佳实践 | The OpenAI and Claude prompt-engineering best practices",
               "思维链（CoT）与少样本学习（Few-shot） | Chain-of-thought (CoT) and few-shot prompting",
               "文生图 prompt 技巧（Midjourney 参数） | Image prompts (Midjourney parameters)"],
       tasks=["为最常做的3类工作各写一个结构化 prompt 模板 => prompt 模板库（Markdown） | Write a structured prompt template for each of your three most frequent tasks => a prompt template library (Markdown)",
              "用 CoT 和 Few-shot 分别改写同一任务并对比输出 => 含评分标准的对比报告 | Redo one task with CoT and with few-shot examples and compare => a comparison report with a scoring rubric",
              "精读一份官方 Prompt 指南 => 要点笔记 + 5条自己的规则 | Read an official prompt guide => notes plus five rules of your own"],
       queries=["结构化 prompt 能力学习", "Prompt Engineering 思维链 少样本学习 官方Prompt设计指南", "prompt 最佳实践 编写指南"],
       keywords=["prompt", "提示词", "思维链", "CoT", "Few-shot", "少样本", "结构化"]),
    # --- creator -------------------------------------------------------------------------------
    _t("workflow", "内容自动化工作流 | Automated content workflows",
       source="000 阶段1 搭建自动化内容管道 / 工作流优化; 003 内容生成-优化-发布流程", weight=1.5,
       topics=["内容管道：选题 → 生成 → 优化 → 发布 | The content pipeline: idea → generation → optimisation → publishing",
               "无代码自动化：Zapier、Make.com | No-code automation: Zapier and Make.com",
               "设计与后期：Canva、Remove.bg、Topaz Video AI | Design and finishing: Canva, Remove.bg, Topaz Video AI",
               "知识管理：Notion AI | Knowledge management: Notion AI",
               "多平台适配：知乎、小红书、B站 | Adapting to each platform: Zhihu, Xiaohongshu, Bilibili"],
       tasks=["搭建一条自动化内容管道（Zapier/Make + ChatGPT + Canva） => 可运行的工作流 + 流程图 | Build an automated content pipeline (Zapier/Make + ChatGPT + Canva) => a working workflow plus a diagram",
              "用这条管道产出多平台适配内容 => 10篇已发布内容（附链接） | Publish cross-platform content through it => 10 published pieces with links",
              "记录每篇内容的制作耗时与效果数据 => 效率与效果对比表 | Track time spent and results per piece => an efficiency and performance table"],
       queries=["搭建自动化内容管道 Zapier ChatGPT Canva", "工作流优化 Make.com 自动化 Notion AI 知识管理", "内容生成 内容优化 内容发布"],
       keywords=["自动化", "工作流", "管道", "Zapier", "Make.com", "Canva", "Notion", "发布", "workflow", "automat"]),
    _t("media_creation", "图像、视频与声音创作进阶 | Advanced image, video and voice creation",
       source="000 关键工具技术栈（ControlNet/LoRA、关键帧控制、情感语调）; 001 图像/视频生成应用; 003 应用场景",
       topics=["Stable Diffusion XL：ControlNet 与 LoRA 控制构图和风格 | Stable Diffusion XL: ControlNet and LoRA for composition and style",
               "视频：关键帧控制与动态遮罩（Runway、Pika） | Video: keyframes and motion masks (Runway, Pika)",
               "声音克隆与情感语调（ElevenLabs） | Voice cloning and emotional tone (ElevenLabs)",
               "短视频创作与广告设计 | Short-video creation and ad design"],
       tasks=["用 ControlNet 固定构图做一组系列插画 => 6张风格统一的作品 | Make an illustration series with ControlNet => six images in one consistent style",
              "制作一条 AI 短视频（出图 → 动画 → 配音） => 60秒成片 + 制作记录 | Produce an AI short (image → animation → voice-over) => a 60-second video plus a production log"],
       queries=["图像生成 Midjourney Stable Diffusion ControlNet LoRA", "视频创作 RunwayML Pika 关键帧控制 动态遮罩", "声音克隆 ElevenLabs 情感语调控制"],
       keywords=["ControlNet", "LoRA", "视频", "图像", "声音", "ElevenLabs", "Runway", "短视频", "video", "image"]),
    _t("content_strategy", "垂直领域与内容策略 | Niche focus and content strategy",
       source="000 内容创作能力矩阵（垂直领域深耕、内容创作技能树）",
       topics=["选1-2个细分领域，建立知识图谱 | Pick one or two niches and build a knowledge map",
               "竞品分析：SimilarWeb、新榜 | Competitor analysis: SimilarWeb, Newrank",
               "用户画像：Google Trends、知乎热榜 | Audience personas: Google Trends, Zhihu trending",
               "结构化写作：SCQA 模型、AIDA 公式 | Structured writing: SCQA and AIDA",
               "视觉叙事与多模态融合 | Visual storytelling and multimodal layout"],
       tasks=["分析3个头部账号的内容策略 => 竞品分析报告 | Analyse three leading accounts => a competitor analysis report",
              "为目标受众建立用户画像 => 2份用户画像卡片 | Build personas for your audience => two persona cards",
              "用 SCQA/AIDA 写一组系列内容 => 5篇系列稿 + 1份分镜脚本 | Write a series with SCQA/AIDA => five drafts plus one storyboard"],
       queries=["垂直领域深耕 建立知识图谱 竞品分析 用户画像", "内容创作技能树 结构化写作 SCQA AIDA 视觉叙事"],
       keywords=["垂直领域", "竞品", "用户画像", "SCQA", "AIDA", "视觉叙事", "知识图谱", "细分领域", "strategy", "niche"]),
    _t("tech_understanding", "理解底层技术原理（技术理解期） | Understanding how it works (technical understanding)",
       source="000 阶段2：技术理解期 / AI基础认知", weight=2.5,
       topics=["生成式AI原理：GPT、Diffusion Model、CLIP | How GPT, diffusion models and CLIP work",
               "机器学习基础与 Embedding | Machine-learning basics and embeddings",
               "吴恩达《深度学习专项课》 | Andrew Ng's Deep Learning Specialization",
               "Hugging Face NLP 课程 | The Hugging Face NLP course",
               "个人知识库：Obsidian、Logseq | A personal knowledge base: Obsidian, Logseq"],
       tasks=["学完一门系统课程的核心章节 => 每章一页笔记 | Work through the core of a systematic course => a one-page note per chapter",
              "用自己的话讲清 GPT、Diffusion、CLIP 的工作方式 => 一篇1500字科普文章 | Explain GPT, diffusion and CLIP in your own words => a 1,500-word explainer",
              "建立个人知识库 => 至少30条笔记的 Obsidian/Logseq 知识库 | Set up a personal knowledge base => an Obsidian/Logseq vault with 30+ notes"],
       queries=["阶段2 技术理解期 理解底层技术原理", "生成式AI原理 GPT Diffusion Model CLIP 机器学习基础 Embedding", "吴恩达 深度学习专项课 Hugging Face NLP课程"],
       keywords=["原理", "技术理解", "深度学习", "Hugging Face", "Embedding", "Diffusion", "CLIP", "吴恩达", "theory"]),
    _t("monetization", "商业变现与个人品牌（商业变现期） | Monetisation and personal brand",
       source="000 阶段3：商业变现期 / 核心竞争力构建策略",
       topics=["2B 服务：企业 AI 内容解决方案 | B2B: AI content solutions for companies",
               "知识付费：Prompt 工程课程 | Paid knowledge products: prompt-engineering courses",
               "流量变现：AI 工具导航站 | Traffic: an AI tool directory site",
               "IP 孵化与差异化定位 | Building an IP and a differentiated position",
               "合规运营：《生成式AI服务管理办法》 | Compliance: the generative AI service regulations"],
       tasks=["选定一种变现模式并设计产品 => 一页商业计划（定价、渠道、成本） | Choose a revenue model and design the offer => a one-page business plan (price, channel, cost)",
              "上线一个最小可售产品 => 上线页面 + 首批用户反馈 | Launch a minimum sellable product => the live page plus first customer feedback"],
       queries=["阶段3 商业变现期 变现模式 2B服务 知识付费 流量变现 IP孵化", "核心竞争力构建策略 差异化定位 合规化运营"],
       keywords=["变现", "商业", "知识付费", "2B", "IP", "差异化", "竞争力", "monet", "business"]),
    _t("capstone_creator", "作品集项目：个人 AI 内容品牌 | Portfolio project: your AI content brand",
       source="000 阶段1 产出30篇多平台适配内容 / 持续进化 每季度趋势报告; 001 高级项目 AI内容工作室",
       topics=["持续输出与数据复盘 | Steady publishing and data-driven reviews",
               "AI 内容工作室：完整的 AIGC 工作流 | An AI content studio: the full AIGC workflow",
               "趋势分析报告与行业话语权 | Trend reports and a voice in the industry"],
       tasks=["连续产出多平台适配内容 => 30篇已发布内容 + 数据复盘 | Publish steadily across platforms => 30 published pieces plus a data review",
              "发布一份 AI 内容趋势分析报告 => 一篇长文报告 | Publish an AI content trend report => a long-form report"],
       queries=["产出30篇多平台适配内容 知乎 小红书 B站", "每季度发布技术趋势分析报告 建立行业话语权", "AI内容工作室 完整的AIGC工作流"],
       keywords=["多平台", "小红书", "作品", "报告", "工作室", "portfolio", "project"]),
    # --- learning habits -----------------------------------------------------------------------
    _t("info_diet", "信息源与持续学习（杠铃阅读法） | Information sources and continuous learning (barbell reading)",
       source="002 优质信息在哪里 / 杠铃阅读法; 000 持续进化建议; 004 终身学习", weight=1.0,
       topics=["一手信息 > 二手信息 > 三手信息 | First-hand > second-hand > third-hand information",
               "杠铃阅读法：经典 + 前沿 | Barbell reading: the classics plus the frontier",
               "论文与官方文档：arXiv、BriefGPT、Connected Papers | Papers and official docs: arXiv, BriefGPT, Connected Papers",
               "Newsletter 与社区：即刻、Twitter | Newsletters and communities",
               "碎片化学习与系统化学习 | Fragmented vs systematic learning"],
       tasks=["整理个人信息源并按一手/二手分级 => 至少15个来源的信息源清单 | Build a graded list of sources (first- and second-hand) => a list of 15+ sources",
              "按杠铃阅读法每周读一篇经典、一篇前沿 => 每周阅读笔记 | Each week read one classic and one frontier piece => weekly reading notes",
              "每月做一次工具链升级测试 => 月度复盘 | Test your toolchain once a month => a monthly review"],
       queries=["杠铃阅读法 经典 前沿", "一手信息 二手信息 三手信息 优质信息在哪里", "持续进化建议 arXiv 最新论文 工具链升级测试"],
       keywords=["杠铃", "一手信息", "二手信息", "信息", "arXiv", "Newsletter", "前沿", "经典", "持续", "reading"]),
    _t("community", "公开学习与社区交流 | Learning in public and joining the community",
       source="002 和这个领域的人交流 / 公开学习; 000 社区资源", weight=1.0,
       topics=["公开你的学习过程 | Sharing your learning in public",
               "中文社区与国际社区 | Chinese and international communities",
               "和比自己厉害的人交流 | Talking to people ahead of you"],
       tasks=["每周公开分享一次学习进展 => 8篇公开笔记或帖子 | Share your progress publicly every week => eight public notes or posts",
              "参加一次社区活动或线上交流 => 交流记录 + 3个新联系人 | Join a community event or online meetup => notes plus three new contacts"],
       queries=["和这个领域的人交流 公开学习", "社区资源 中文社区 国际社区"],
       keywords=["交流", "公开学习", "社区", "即刻", "Twitter", "Discord", "朋友", "community"]),
    # --- builder -------------------------------------------------------------------------------
    _t("foundations", "生成式AI与深度学习基础 | Generative AI and deep-learning foundations",
       source="001 第一阶段：生成式AI基础 (1-2个月)", weight=1.5, levels=NOT_ADVANCED, code=True,
       topics=["生成式AI与判别式AI、AIGC 发展历程 | Generative vs discriminative AI and how AIGC developed",
               "数学基础：概率论、信息论（熵、KL散度）、优化（梯度下降） | Maths: probability, information theory (entropy, KL divergence), optimisation (gradient descent)",
               "神经网络：前馈网络、CNN、RNN | Neural networks: feed-forward, CNN, RNN",
               "Transformer：注意力机制、位置编码、多头注意力 | Transformers: attention, positional encoding, multi-head attention"],
       tasks=["用 PyTorch 从零实现一个注意力层 => 代码仓库 + 单元测试 | Implement an attention layer from scratch in PyTorch => a repository with unit tests",
              "整理熵、交叉熵、KL散度、最大似然的推导 => 公式笔记 | Write out entropy, cross-entropy, KL divergence and maximum likelihood => derivation notes",
              "跑通一个小型 Transformer 训练示例 => 训练曲线 + 复盘 | Train a small Transformer end to end => training curves plus a review"],
       queries=["第一阶段 生成式AI基础 数学基础 深度学习基础", "Transformer架构 注意力机制 位置编码 多头注意力", "概率论 信息论 KL散度 优化理论 梯度下降"],
       keywords=["基础", "Transformer", "注意力", "概率论", "信息论", "神经网络", "深度学习", "梯度下降", "foundation"]),
    _t("llm_apps", "调用 LLM API：开发对话机器人 | Calling LLM APIs: build a chatbot",
       source="002 做一个开发者：调用 LLM 的接口 / 使用 Hugging Face; 000 文本生成 → 进阶使用API接口",
       weight=1.5, levels=NOT_ADVANCED, code=True,
       topics=["调用大模型厂商 API | Calling a model vendor's API",
               "本地可视化界面：Gradio、Open WebUI | A local web UI: Gradio, Open WebUI",
               "Hugging Face 模型中心与在线演示 | The Hugging Face model hub and hosted demos",
               "流式输出与多轮对话 | Streaming and multi-turn conversations"],
       tasks=["接入一家 LLM API 做一个命令行对话机器人 => 代码仓库 + README | Wire an LLM API into a command-line chatbot => a repository with a README",
              "用 Gradio 给它加上网页界面 => 可本地运行的 Demo | Give it a Gradio web UI => a demo that runs locally",
              "换成 Hugging Face 上的开源模型 => 切换说明 + 效果对比 | Swap in an open model from Hugging Face => switch-over notes plus a comparison"],
       queries=["调用 LLM 的接口 开发一个 AI 对话机器人 Gradio", "使用 Hugging Face 调用大模型 模型中心", "文本生成 进阶使用API接口"],
       keywords=["API", "接口", "对话机器人", "Gradio", "Hugging Face", "webui", "调用", "chatbot"]),
    _t("llm_core", "大语言模型与文本生成原理 | Large language models and text generation",
       source="001 第二阶段：文本生成 (2-3个月)", weight=2.5, code=True,
       topics=["语言模型：N-gram 到神经网络语言模型 | Language models: from n-grams to neural LMs",
               "预训练模型：BERT、GPT、T5 | Pre-trained models: BERT, GPT, T5",
               "现代 LLM：GPT-3/4、LLaMA 与开源大模型 | Modern LLMs: GPT-3/4, LLaMA and open models",
               "训练技术：指令微调、RLHF、对齐 | Training: instruction tuning, RLHF, alignment",
               "文本生成应用：写作、文案、代码生成 | Applications: writing, copy, code generation"],
       tasks=["用 Hugging Face Transformers 对比3个开源模型的推理 => 对比报告（质量/速度/显存） | Compare inference of three open models with Hugging Face Transformers => a report on quality, speed and memory",
              "精读大语言模型综述的一章 => 读书笔记 + 术语表 | Read one chapter of the LLM survey closely => notes plus a glossary",
              "实现一个文本生成小工具（如文案生成器） => 可运行脚本 + 示例输出 | Build a small text-generation tool (e.g. a copy generator) => a runnable script plus sample outputs"],
       queries=["第二阶段 文本生成 语言模型基础 大语言模型", "预训练语言模型 BERT GPT 指令微调 RLHF 对齐技术", "Hugging Face Transformer 库 预训练 微调 推理"],
       keywords=["语言模型", "LLM", "GPT", "BERT", "预训练", "指令微调", "RLHF", "文本生成"]),
    _t("rag", "RAG 检索增强生成 | Retrieval-augmented generation (RAG)",
       source="002 开发一个 RAG 对话机器人; 000 Embedding技术", code=True,
       topics=["内容向量化与向量检索（Embedding） | Embedding content and vector search",
               "切分、召回与上下文拼接 | Chunking, retrieval and building the context",
               "LangChain：链式调用与记忆 | LangChain: chains and memory",
               "引用来源与效果评估 | Citing sources and measuring quality"],
       tasks=["用 LangChain + 向量库做一个资料问答机器人 => 代码仓库 + 演示视频 | Build a document Q&A bot with LangChain and a vector store => a repository plus a demo video",
              "建一个20题的评测集并比较两种切分策略 => 评测表 + 结论 | Build a 20-question eval set and compare two chunking strategies => an eval table with conclusions",
              "给回答加上来源引用 => 带引用的回答示例 | Add source citations to the answers => sample answers with citations"],
       queries=["开发一个 RAG 对话机器人 搜索增强生成", "内容向量化后存储 向量化搜索 上下文 LangChain", "RAG Retrieval Augmented Generation"],
       keywords=["RAG", "检索", "搜索增强", "向量", "LangChain", "Embedding", "上下文", "retrieval"]),
    _t("agents", "Agent 与自动化工作流开发 | Agents and automated workflows",
       source="002 找到你的兴趣点（Chatbot、RAG、Agent）; 000 LangChain/AutoGPT自动化工作流", code=True,
       topics=["单一 Agent、多 Agent 与 auto-agent | Single agents, multi-agent and auto-agent",
               "工具调用与 LangChain | Tool calling with LangChain",
               "AutoGPT 式自动化工作流 | AutoGPT-style automated workflows",
               "失败模式与护栏 | Failure modes and guardrails"],
       tasks=["用 LangChain 做一个会调用2个工具的 Agent => 代码 + 运行日志 | Build a LangChain agent that uses two tools => code plus run logs",
              "把一项重复性工作自动化 => 可运行的工作流 + 节省时间估算 | Automate one repetitive job => a working workflow plus a time-saved estimate"],
       queries=["Agent 单一 agent multi-agent auto-agent 技术路线", "LangChain AutoGPT 自动化工作流"],
       keywords=["Agent", "agent", "LangChain", "AutoGPT", "自动化", "工作流"]),
    _t("finetune", "模型微调实战（LoRA） | Fine-tuning in practice (LoRA)",
       source="000 模型微调实战 / 微调的必要性与价值矩阵; 002 做一个造物者：微调大语言模型", weight=2.5, code=True,
       topics=["数据集构建与标注：Scale AI、Snorkel | Building and labelling datasets: Scale AI, Snorkel",
               "LoRA / PEFT 微调：Hugging Face Transformers、Colab | LoRA / PEFT fine-tuning: Hugging Face Transformers, Colab",
               "厂商 fine-tuning 接口与本地微调 | Vendor fine-tuning APIs vs local fine-tuning",
               "投入回报：API 与自建 7B 模型的推理成本 | Return on investment: API vs a self-hosted 7B model"],
       tasks=["构建一个不少于500条的指令数据集 => 数据集 + 数据卡片 | Build an instruction dataset of 500+ examples => the dataset plus a data card",
              "用 LoRA 微调一个小模型 => 训练脚本 + 微调前后评测对比 | Fine-tune a small model with LoRA => the training script plus a before/after evaluation",
              "估算 API 与自建模型的推理成本 => 成本对比表 | Estimate inference cost for an API vs your own model => a cost comparison table"],
       queries=["模型微调实战 数据集构建 微调平台 Hugging Face", "LoRA 微调 peft LoraConfig get_peft_model", "微调大语言模型 fine-tuning Lora QA 对"],
       keywords=["微调", "LoRA", "fine-tuning", "数据集", "peft", "训练", "fine-tun"]),
    _t("image_gen", "图像生成：GAN 与扩散模型 | Image generation: GANs and diffusion models",
       source="001 第三阶段：图像生成 (2-3个月); 002 自己部署 Stable Diffusion / 训练自己的 Stable Diffusion 模型",
       weight=2.5, code=True,
       topics=["GAN：生成器与判别器、StyleGAN | GANs: generator and discriminator, StyleGAN",
               "扩散模型：DDPM、DDIM、Stable Diffusion | Diffusion: DDPM, DDIM, Stable Diffusion",
               "本地部署 Stable Diffusion（WebUI / ComfyUI）与 Civitai 模型 | Running Stable Diffusion locally (WebUI / ComfyUI) and Civitai models",
               "训练自己的 Stable Diffusion 模型 | Training your own Stable Diffusion model"],
       tasks=["本地部署 Stable Diffusion WebUI 或 ComfyUI => 部署文档 + 出图样例 | Run Stable Diffusion WebUI or ComfyUI locally => setup notes plus sample images",
              "读懂并复现一个最小 DDPM => 代码 + 采样结果 | Reproduce a minimal DDPM => code plus samples",
              "用自己的图片训练一个风格 LoRA => 模型文件 + 对比图 | Train a style LoRA on your own images => the weights plus comparison images"],
       queries=["第三阶段 图像生成 扩散模型 GAN", "自己部署 Stable Diffusion web-UI comfy UI", "训练自己的 Stable Diffusion 模型"],
       keywords=["扩散", "Diffusion", "GAN", "图像生成", "Stable Diffusion", "DDPM", "image"]),
    _t("multimodal", "音频、视频与多模态生成 | Audio, video and multimodal generation",
       source="001 第四阶段 音频生成 / 第五阶段 视频生成 / 第六阶段 多模态生成", weight=3.0, code=True,
       topics=["语音合成：Tacotron、WaveNet、FastSpeech | Speech synthesis: Tacotron, WaveNet, FastSpeech",
               "音乐生成：MusicLM、Jukebox | Music generation: MusicLM, Jukebox",
               "视频生成：基于扩散的视频生成、文本到视频 | Video generation: diffusion-based and text-to-video",
               "多模态：CLIP、跨模态对齐、GPT-4V | Multimodal: CLIP, cross-modal alignment, GPT-4V"],
       tasks=["用 Coqui TTS 做一个语音合成 Demo => 音频样例 + 说明 | Build a speech-synthesis demo with Coqui TTS => audio samples plus notes",
              "用 CLIP 做图文检索 => 可运行的 Notebook | Build image-text search with CLIP => a runnable notebook",
              "调研文本到视频模型 => 1500字对比综述 | Survey text-to-video models => a 1,500-word comparison"],
       queries=["第四阶段 音频生成 语音合成 音乐生成", "第五阶段 视频生成 文本到视频", "第六阶段 多模态生成 CLIP 跨模态对齐"],
       keywords=["音频", "语音合成", "音乐", "视频生成", "多模态", "CLIP", "跨模态", "multimodal"]),
    _t("deploy", "部署与优化：从 Demo 到产品 | Deployment and optimisation: from demo to product",
       source="001 第七阶段：AIGC应用与部署 (1-2个月); 000 模型部署 FastAPI / 成本优化", weight=1.5, code=True,
       topics=["模型服务化：FastAPI 生成接口 | Serving models: a FastAPI generation endpoint",
               "部署：云服务、边缘、移动端 | Deployment: cloud, edge, mobile",
               "性能优化：模型压缩、推理加速 | Performance: compression and faster inference",
               "成本优化：API 与自建推理 | Cost: API vs self-hosted inference",
               "产品设计：用户需求与体验 | Product design: user needs and experience"],
       tasks=["用 FastAPI 把模型封装成服务 => API 服务 + 接口文档 | Wrap a model in a FastAPI service => the service plus API docs",
              "做一次压测与量化/加速对比 => 性能报告（延迟、吞吐、成本） | Load-test and compare quantisation/acceleration options => a report on latency, throughput and cost",
              "部署到云端供他人试用 => 在线地址 + 监控截图 | Deploy it for others to try => a public URL plus monitoring screenshots"],
       queries=["第七阶段 AIGC应用与部署 模型部署 性能优化", "模型部署 FastAPI 搭建简易生成接口", "成本优化 推理成本 自建微调模型"],
       keywords=["部署", "FastAPI", "推理", "优化", "服务化", "成本", "deploy"]),
    _t("capstone_builder", "综合项目：完整的 AIGC 应用 | Capstone: a complete AIGC application",
       source="001 实践项目（高级项目）/ 评估标准", weight=2.5,
       topics=["高级项目：多模态创作平台、AI 内容工作室、实时交互式生成 | Advanced projects: a multimodal platform, an AI content studio, real-time generation",
               "从创意到产品的全流程 | The full path from idea to product",
               "处理真实业务需求 | Meeting real business requirements"],
       tasks=["选一个高级项目并写设计文档 => 设计文档 | Pick an advanced project and write the design => a design document",
              "完成并上线 => 开源仓库 + 在线 Demo + 复盘文章 | Build and ship it => an open-source repository, a live demo and a write-up"],
       queries=["实践项目 初级项目 中级项目 高级项目", "评估标准 项目经验 完成3-5个完整项目 从创意到产品"],
       keywords=["项目", "实践", "平台", "工作室", "全流程", "project"]),
    # --- educator ------------------------------------------------------------------------------
    _t("teach_with_ai", "用 AI 辅助教学：备课、教材与评价 | Teaching with AI: lesson prep, materials and feedback",
       source="003 教育领域（教学视频、教材）/ 教育培训（个性化教学、智能辅导）; 002 教师用 ChatGPT 做学生评价",
       topics=["用大模型生成教案与教材 | Drafting lesson plans and materials with an LLM",
               "生成教学视频与配图 | Generating teaching videos and illustrations",
               "学生评价与作业反馈 | Student evaluations and homework feedback",
               "个性化教学与智能辅导 | Personalised teaching and AI tutoring"],
       tasks=["用 AI 备一节完整的课 => 教案 + 课件 + 练习题 | Prepare one complete lesson with AI => a lesson plan, slides and exercises",
              "用 AI 生成一段教学短视频 => 3分钟教学视频 | Make a short teaching video with AI => a 3-minute video",
              "设计一套 AI 辅助的学生评价流程 => 评价模板 + 含人工审核步骤的使用说明 | Design an AI-assisted student feedback process => a template plus instructions with a human review step"],
       queries=["教育领域 生成教学视频 教材 教育资源", "教育培训 个性化教学 智能辅导", "教师 ChatGPT 学生评价"],
       keywords=["教育", "教学", "教材", "教师", "学生", "辅导", "培训", "teach"]),
    _t("teach_prompt_course", "开发 Prompt 工程与 AI 工具课程 | Designing a course on prompting and AI tools",
       source="000 价值矩阵：AI创作教育者（教授prompt工程与工具使用）/ 阶段3 知识付费：Prompt工程课程开发",
       topics=["AI 创作教育者的定位（价值矩阵） | The AI-creation educator's position (value matrix)",
               "课程大纲：Prompt 工程与工具使用 | Syllabus: prompt engineering and tool use",
               "练习与作业设计 | Designing exercises and assignments",
               "知识付费与课程发布 | Paid courses and publishing"],
       tasks=["写一份4课时的课程大纲 => 大纲 + 学习目标 | Write a four-session syllabus => the syllabus plus learning goals",
              "录制或试讲第一课 => 课程视频或讲稿 + 学员反馈 | Record or trial-teach the first session => a video or script plus learner feedback",
              "上架课程或在校内开课 => 课程页面或开课通知 | Publish the course or run it at school => a course page or an announcement"],
       queries=["AI创作教育者 教授prompt工程与工具使用", "知识付费 Prompt工程课程开发", "学习模型微调的必要性与价值矩阵 职业定位"],
       keywords=["教育者", "课程", "prompt", "知识付费", "教授", "course"]),
    _t("ai_ethics", "AI 伦理、版权与合规 | AI ethics, copyright and compliance",
       source="003 面临的挑战（数据隐私、版权、道德）; 004 AI伦理; 000 合规化运营", weight=1.0,
       topics=["数据隐私与安全 | Data privacy and security",
               "AI 生成作品的版权归属 | Who owns the copyright of AI-generated work",
               "虚假信息、歧视与社会影响 | Misinformation, bias and social impact",
               "《生成式AI服务管理办法》等法规 | Regulations such as China's generative AI service rules"],
       tasks=["整理本领域使用 AI 的风险清单 => 风险清单 + 应对措施 | List the risks of using AI in your field => a risk list with mitigations",
              "制定一份 AI 使用规范 => 一页规范文档 | Write an AI usage policy => a one-page policy"],
       queries=["面临的挑战 数据隐私与安全 版权问题 道德与社会影响", "合规化运营 生成式AI服务管理办法", "AI伦理问题 透明 公平 负责任"],
       keywords=["伦理", "版权", "隐私", "合规", "道德", "法规", "安全", "ethic"]),
    _t("capstone_educator", "教学实践项目：用 AI 上好一个单元 | Teaching project: one unit taught with AI",
       source="003 教育培训 个性化教学、智能辅导; 001 行业应用 教育内容",
       topics=["单元设计与 AI 分工 | Unit design and what AI does in it",
               "课堂实施与学生反馈 | Running it in class and collecting feedback",
               "教学案例分享 | Sharing the case"],
       tasks=["在真实课堂中用 AI 完成一个单元的教学 => 单元材料 + 学生反馈 + 复盘 | Teach one unit with AI in a real class => the unit materials, student feedback and a review",
              "公开分享教学案例 => 案例文章 | Share the case publicly => a case write-up"],
       queries=["教育培训 个性化教学 智能辅导", "行业应用 教育内容 营销素材"],
       keywords=["教育", "教学", "课程", "学生", "teach"]),
    # --- domain expert -------------------------------------------------------------------------
    _t("best_practice", "在本领域找到 GenAI 最佳实践 | Finding GenAI best practice in your field",
       source="002 寻找领域内的 GenAI 最佳实践; 004 跨领域合作（人机协同、智能咨询）",
       topics=["什么是最佳实践：效率、成本、质量 | What best practice means: efficiency, cost, quality",
               "把行业方法论与 GenAI 结合 | Combining your field's methods with GenAI",
               "访谈同行的使用场景 | Interviewing peers about their use cases",
               "人机协同与智能咨询 | Human-AI collaboration and AI-assisted advice"],
       tasks=["访谈3位同行的 AI 使用场景 => 访谈纪要 + 场景清单 | Interview three peers about how they use AI => interview notes plus a list of use cases",
              "挑一个高频任务用 AI 重做并量化效果 => 前后对比（耗时、质量） | Redo one frequent task with AI and measure it => a before/after comparison of time and quality",
              "写出你的最佳实践 SOP => SOP 文档 | Write your best-practice SOP => an SOP document"],
       queries=["寻找领域内的 GenAI 最佳实践", "最佳实践 提高效率 降低成本 提升质量", "跨领域合作 人机协同 智能咨询"],
       keywords=["最佳实践", "领域", "行业", "职业", "场景", "人机协同", "best practice"]),
    _t("domain_content", "专业领域内容生成与模板 | Domain content generation and templates",
       source="000 价值矩阵：垂类专家创作者（法律/医疗等专业领域内容生成）/ 差异化定位 / 修复领域知识错误",
       topics=["垂类专家创作者：法律、医疗等专业内容生成 | The domain-expert creator: legal, medical and other specialist content",
               "细分领域 AI 内容模板（如法律文书） | AI content templates for your niche (e.g. legal documents)",
               "修复领域知识错误（如法律条款引用） | Fixing domain errors (e.g. wrong statute citations)",
               "专业内容的人工审核 | Human review of specialist content"],
       tasks=["为本领域3类文书或内容设计 AI 模板 => 模板库 + 示例输出 | Design AI templates for three kinds of documents in your field => a template library plus sample outputs",
              "建立错误检查清单并审核20份 AI 输出 => 错误统计表 | Write an error checklist and review 20 AI outputs => an error tally"],
       queries=["垂类专家创作者 法律 医疗 专业领域内容生成", "差异化定位 开发细分领域AI内容模板 法律文书生成", "修复生成中的领域知识错误 法律条款引用"],
       keywords=["法律", "医疗", "专业", "垂类", "领域", "模板", "文书", "domain"]),
    _t("domain_data", "领域知识库与数据资产 | A domain knowledge base and data assets",
       source="000 数据资产沉淀 / 数据集构建 / 技术护城河; 000 阶段2 构建个人知识库",
       topics=["构建垂直领域高质量数据集 | Building a high-quality dataset for your field",
               "数据标注：Scale AI、Snorkel | Labelling: Scale AI, Snorkel",
               "个人与团队知识库 | Personal and team knowledge bases",
               "私有模型库与技术护城河 | Private models as a moat"],
       tasks=["整理200条高质量领域问答对 => 数据集 + 标注规范 | Collect 200 high-quality Q&A pairs from your field => the dataset plus labelling guidelines",
              "搭建领域知识库 => 至少50篇文档的知识库 + 检索示例 | Set up a domain knowledge base => 50+ documents plus search examples"],
       queries=["数据资产沉淀 构建垂直领域高质量数据集", "数据集构建 数据标注 Scale AI Snorkel", "技术护城河 建立私有化微调模型库"],
       keywords=["数据集", "数据", "知识库", "标注", "垂直领域", "护城河", "data"]),
    _t("domain_finetune", "领域模型定制（厂商微调服务） | Customising a model for your field (fine-tuning services)",
       source="000 微调的价值矩阵（垂类专家 ROI 高）/ 突破工具限制 / 建立技术壁垒; 002 厂商 fine-tuning 接口",
       topics=["为什么垂类专家值得微调 | Why fine-tuning pays off for domain experts",
               "厂商 fine-tuning 接口（无需自建训练环境） | Vendor fine-tuning services (no training setup of your own)",
               "用 QA 对纠正生成效果 | Correcting outputs with Q&A pairs",
               "效果评估与成本 | Evaluation and cost"],
       tasks=["用厂商微调接口训练一个领域模型 => 微调模型 + 评测集对比 | Fine-tune a domain model through a vendor service => the model plus an eval comparison",
              "比较微调前后的错误率与成本 => 评估报告 | Compare error rate and cost before and after => an evaluation report"],
       queries=["学习模型微调的必要性与价值矩阵 垂类专家创作者", "突破工具限制 建立技术壁垒 修复领域知识错误", "微调大语言模型 fine-tuning 接口 QA 对"],
       keywords=["微调", "fine-tuning", "壁垒", "垂类", "领域", "fine-tun"]),
    _t("capstone_domain", "领域落地项目：把 AI 用进日常工作 | Field project: AI in your daily work",
       source="002 在做中学 / 最佳实践; 000 核心竞争力构建策略",
       topics=["选一个真实流程落地 | Pick one real process to change",
               "运行、度量与复盘 | Run, measure, review",
               "在团队内推广 | Rolling it out to your team"],
       tasks=["在真实工作中落地一个 AI 流程并运行4周 => 运行记录 + ROI 复盘 | Run one AI-assisted process at work for four weeks => a run log plus an ROI review",
              "做一次内部或公开分享 => 分享稿 | Present it internally or publicly => the talk or article"],
       queries=["在做中学 先做起来 再复盘", "核心竞争力构建策略 差异化定位 数据资产"],
       keywords=["实践", "复盘", "竞争力", "落地", "project"]),
    # --- general -------------------------------------------------------------------------------
    _t("career", "AIGC 时代的职业规划 | Career planning in the AIGC era",
       source="004 AIGC时代下的职业规划（技能适应性、终身学习、创新思维、跨领域合作）", weight=1.0,
       topics=["技能适应性：哪些技能会被 AI 影响 | Skill adaptability: which skills AI will change",
               "终身学习 | Lifelong learning",
               "创新思维 | Creative thinking",
               "跨领域合作与新职业路径 | Cross-field work and new career paths"],
       tasks=["盘点技能，标出会被 AI 影响和难以替代的部分 => 技能地图 | Audit your skills, marking what AI will change and what it can't replace => a skills map",
              "制定12个月的能力发展计划 => 一页个人发展计划 | Plan your next 12 months of growth => a one-page development plan"],
       queries=["AIGC时代下的职业规划 技能适应性 终身学习 创新思维", "跨领域合作 职业路径 发展机会"],
       keywords=["职业", "技能", "终身学习", "创新", "规划", "焦虑", "career"]),
    _t("capstone_general", "个人项目：用 AI 解决一个真实问题 | Personal project: solve a real problem with AI",
       source="002 寻找领域内的 GenAI 最佳实践（在做中学）; 004 实践应用",
       topics=["在做中学 | Learning by doing",
               "先做起来，再复盘 | Start, then review",
               "公开分享成果 | Sharing the result"],
       tasks=["选一个生活或工作中的问题用 AI 解决 => 项目记录 + 前后对比 | Solve one problem from your life or work with AI => a project log plus a before/after comparison",
              "公开分享 => 分享文章 | Share it publicly => an article"],
       queries=["在做中学 先做起来 再复盘", "实践应用 动手实践 个人项目"],
       keywords=["实践", "项目", "复盘", "最佳实践", "project"]),
]}

# Track -> stages in teaching order: (template id, priority, priority for advanced learners).
# Short plans keep the lowest priorities; longer plans add the rest, still in teaching order.
TRACKS: dict[str, list[tuple[str, float, float | None]]] = {
    "creator": [
        ("genai_map", 10, None), ("tools", 1, None), ("prompting", 2, 1), ("workflow", 3, 2),
        ("media_creation", 4, 3), ("content_strategy", 5, 4), ("info_diet", 9, None),
        ("tech_understanding", 8, 7), ("monetization", 6, 5), ("community", 11, None), ("capstone_creator", 7, 6),
    ],
    "builder": [
        ("foundations", 4, None), ("llm_apps", 1, None), ("llm_core", 7, 3), ("rag", 2, 1), ("agents", 8, 5),
        ("finetune", 3, 2), ("image_gen", 9, 7), ("multimodal", 10, 8), ("deploy", 5, 4),
        ("capstone_builder", 6, 6), ("info_diet", 11, 9),
    ],
    "educator": [
        ("genai_map", 10, None), ("tools", 2, None), ("prompting", 3, 2), ("teach_with_ai", 1, 1),
        ("ai_ethics", 5, 4), ("teach_prompt_course", 4, 3), ("info_diet", 7, 6), ("workflow", 8, 7),
        ("tech_understanding", 9, 8), ("community", 11, 9), ("capstone_educator", 6, 5),
    ],
    "domain_expert": [
        ("genai_map", 10, None), ("tools", 5, None), ("prompting", 2, 3), ("best_practice", 1, 1),
        ("domain_content", 3, 2), ("ai_ethics", 4, 5), ("domain_data", 6, 4), ("domain_finetune", 8, 6),
        ("info_diet", 9, 8), ("capstone_domain", 7, 7),
    ],
    "general": [
        ("genai_map", 1, None), ("tools", 2, None), ("prompting", 3, 1), ("info_diet", 6, 4),
        ("best_practice", 4, 2), ("career", 5, 3), ("tech_understanding", 8, 5), ("community", 9, 7),
        ("capstone_general", 7, 6),
    ],
}


def _check() -> None:
    for track, entries in TRACKS.items():
        ids = [e[0] for e in entries]
        assert len(ids) == len(set(ids)), f"{track} lists a template twice"
        missing = set(ids) - set(TEMPLATES)
        assert not missing, f"{track} names unknown templates {missing}"


_check()
