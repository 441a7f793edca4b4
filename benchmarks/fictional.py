"""Vocabulary of the generated region: obviously fictional people in real municipalities.

Surnames are built from words that mean "sample / test / fictional" (見本, 試験, 架空 …) with a
common ending (川, 田, 山 …), so no generated person can be mistaken for a resident; towns are
invented (見本町, 架空台 …); phone numbers use the 00–09 exchanges, which the demo data also
treats as unassigned. Medications and conditions are ordinary ones, so the emergency view and
the encrypted columns hold text of realistic length.
"""

from __future__ import annotations

# (municipality, postal prefix, area code, share of the region's elderly-only households)
MUNICIPALITIES = (
    ("加須市", "347", "0480", 0.21),
    ("行田市", "361", "048", 0.15),
    ("羽生市", "348", "048", 0.10),
    ("久喜市", "346", "0480", 0.26),
    ("蓮田市", "349", "048", 0.11),
    ("幸手市", "340", "0480", 0.09),
    ("白岡市", "349", "0480", 0.04),
    ("宮代町", "345", "0480", 0.02),
    ("杉戸町", "345", "0480", 0.02),
)
TOWNS = ("見本町", "架空台", "試験野", "模擬原", "仮名坂", "例示ヶ丘", "想定田", "標本新田")

SURNAME_STEMS = (
    ("見本", "ミホン"),
    ("試験", "シケン"),
    ("架空", "カクウ"),
    ("仮名", "カメイ"),
    ("例示", "レイジ"),
    ("模擬", "モギ"),
    ("想定", "ソウテイ"),
    ("試作", "シサク"),
    ("標本", "ヒョウホン"),
    ("仮設", "カセツ"),
    ("演習", "エンシュウ"),
    ("訓練", "クンレン"),
    ("検証", "ケンショウ"),
    ("練習", "レンシュウ"),
    ("雛形", "ヒナガタ"),
    ("下書", "シタガキ"),
)
SURNAME_ENDINGS = (
    ("", ""),
    ("川", "カワ"),
    ("田", "タ"),
    ("山", "ヤマ"),
    ("野", "ノ"),
    ("沢", "サワ"),
    ("本", "モト"),
    ("原", "ハラ"),
    ("島", "シマ"),
    ("村", "ムラ"),
    ("森", "モリ"),
    ("井", "イ"),
)
SURNAMES = tuple(
    (stem + end, stem_kana + end_kana) for stem, stem_kana in SURNAME_STEMS for end, end_kana in SURNAME_ENDINGS
)

MALE_NAMES = (
    ("太郎", "タロウ"),
    ("次郎", "ジロウ"),
    ("一郎", "イチロウ"),
    ("三郎", "サブロウ"),
    ("清", "キヨシ"),
    ("茂", "シゲル"),
    ("勇", "イサム"),
    ("実", "ミノル"),
    ("博", "ヒロシ"),
    ("進", "ススム"),
    ("昭", "アキラ"),
    ("正", "タダシ"),
    ("武", "タケシ"),
    ("豊", "ユタカ"),
    ("稔", "ミノル"),
    ("和夫", "カズオ"),
    ("幸雄", "ユキオ"),
    ("正男", "マサオ"),
    ("義雄", "ヨシオ"),
    ("光男", "ミツオ"),
    ("健一", "ケンイチ"),
    ("修", "オサム"),
    ("隆", "タカシ"),
    ("誠", "マコト"),
    ("孝", "タカシ"),
    ("弘", "ヒロシ"),
    ("明", "アキラ"),
    ("秀雄", "ヒデオ"),
    ("春男", "ハルオ"),
    ("秋夫", "アキオ"),
)
FEMALE_NAMES = (
    ("花子", "ハナコ"),
    ("梅子", "ウメコ"),
    ("幸子", "サチコ"),
    ("和子", "カズコ"),
    ("節子", "セツコ"),
    ("洋子", "ヨウコ"),
    ("恵子", "ケイコ"),
    ("京子", "キョウコ"),
    ("久子", "ヒサコ"),
    ("弘子", "ヒロコ"),
    ("美代子", "ミヨコ"),
    ("文子", "フミコ"),
    ("静子", "シズコ"),
    ("澄子", "スミコ"),
    ("千代", "チヨ"),
    ("ハル", "ハル"),
    ("キヨ", "キヨ"),
    ("トミ", "トミ"),
    ("貞子", "サダコ"),
    ("光子", "ミツコ"),
    ("信子", "ノブコ"),
    ("敏子", "トシコ"),
    ("悦子", "エツコ"),
    ("照子", "テルコ"),
    ("春江", "ハルエ"),
    ("秋子", "アキコ"),
    ("冬子", "フユコ"),
    ("良子", "ヨシコ"),
    ("孝子", "タカコ"),
    ("明美", "アケミ"),
)
RELATIONS = ("長男", "長女", "次男", "次女", "妻", "夫", "姪", "甥", "弟", "妹", "孫", "ケアマネジャー")

# (text, is_anticoagulant, is_insulin)
MEDICATIONS = (
    ("アムロジピン錠5mg 1日1回 朝食後", False, False),
    ("ワルファリン錠1mg 1日1回", True, False),
    ("アピキサバン錠2.5mg 1日2回", True, False),
    ("エドキサバン錠30mg 1日1回", True, False),
    ("インスリン グラルギン 朝10単位", False, True),
    ("インスリン アスパルト 毎食直前4単位", False, True),
    ("メトホルミン錠250mg 1日2回", False, False),
    ("シタグリプチン錠50mg 1日1回", False, False),
    ("ロスバスタチン錠2.5mg 1日1回", False, False),
    ("ランソプラゾールOD錠15mg 1日1回", False, False),
    ("ドネペジル錠5mg 1日1回", False, False),
    ("アスピリン腸溶錠100mg 1日1回", False, False),
    ("フロセミド錠20mg 1日1回", False, False),
    ("カンデサルタン錠8mg 1日1回", False, False),
    ("酸化マグネシウム錠330mg 1日3回", False, False),
    ("レボチロキシン錠50μg 1日1回", False, False),
    ("ビソプロロール錠2.5mg 1日1回", False, False),
    ("エルデカルシトールカプセル0.75μg 1日1回", False, False),
    ("ゾルピデム錠5mg 就寝前（頓用）", False, False),
    ("ニトログリセリン舌下錠0.3mg 発作時", False, False),
)
CONDITIONS = (
    ("高血圧症", "current"),
    ("2型糖尿病", "current"),
    ("心房細動", "current"),
    ("慢性心不全", "current"),
    ("脂質異常症", "current"),
    ("慢性腎臓病（ステージ3）", "current"),
    ("アルツハイマー型認知症", "current"),
    ("骨粗しょう症", "current"),
    ("慢性閉塞性肺疾患（在宅酸素）", "current"),
    ("脳梗塞（2015年）", "past"),
    ("心筋梗塞（2012年）", "past"),
    ("胃がん 手術（2010年）", "surgery"),
    ("白内障 手術（2018年）", "surgery"),
    ("大腿骨頸部骨折 手術（2020年）", "surgery"),
    ("ペースメーカー植込み（2019年）", "device"),
    ("甲状腺機能低下症", "current"),
)
ALLERGIES = (
    ("ペニシリン系抗菌薬（発疹）", "drug"),
    ("造影剤（ヨード）", "drug"),
    ("セフェム系抗菌薬", "drug"),
    ("NSAIDs（喘息発作）", "drug"),
    ("そば", "food"),
    ("えび・かに", "food"),
    ("ラテックス", "other"),
)
SPECIALTIES = ("内科", "内科", "内科", "循環器内科", "糖尿病内科", "整形外科", "呼吸器内科", "脳神経内科")
INSURANCE_KINDS = ("後期高齢者医療", "国民健康保険", "後期高齢者医療", "資格確認書")
