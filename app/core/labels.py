"""Display labels for stored codes. Values are Japanese message ids, translated on use."""

from __future__ import annotations

from enum import Enum

from app.core.i18n import gettext

LABELS: dict[str, dict[str, str]] = {
    "role": {
        "admin": "管理者",
        "staff": "市職員",
        "doctor": "医師",
        "paramedic": "救急隊員",
        "resident": "住民・家族",
        "network": "医療機関システム",
    },
    "source": {
        "resident": "本人・家族",
        "staff": "市職員",
        "doctor": "医師",
        "network": "医療機関",
        "import": "一括取込",
    },
    "sex": {"male": "男性", "female": "女性", "other": "その他", "unknown": "未記入"},
    "status": {"active": "在宅", "moved": "転出", "deceased": "死亡"},
    "action": {"create": "新規登録", "update": "更新", "remove": "削除"},
    "entity": {
        "household": "世帯",
        "person": "本人",
        "clinical": "医療情報",
        "contact": "緊急連絡先",
        "consent": "同意",
        "card": "カード",
    },
    "card_status": {"active": "有効", "superseded": "再発行により失効", "revoked": "失効"},
    "revoke_reason": {
        "lost": "紛失",
        "damaged": "破損",
        "consent_withdrawn": "同意の撤回",
        "deceased": "死亡",
        "moved": "転出",
        "key_compromised": "署名鍵の交換",
        "other": "その他",
    },
    "institution_kind": {
        "hospital": "病院",
        "clinic": "診療所",
        "imaging": "画像診断",
        "laboratory": "検査",
        "pharmacy": "薬局",
        "fire_department": "消防",
        "other": "その他",
    },
    "category": {
        "drug": "薬剤",
        "food": "食物",
        "other": "その他",
        "regular": "定期",
        "as_needed": "頓用",
        "current": "現在の病気",
        "past": "既往歴",
        "surgery": "手術",
        "device": "植込み機器",
    },
    "dnar": {"unknown": "未確認", "none": "なし", "exists": "あり"},
    "blood": {"unknown": "不明"},
    "consent_method": {
        "written": "書面",
        "proxy": "代理人の書面",
        "verbal": "口頭",
        "online": "オンライン（本人・家族）",
    },
    "field": {
        "family_name": "氏",
        "given_name": "名",
        "family_name_kana": "フリガナ（氏）",
        "given_name_kana": "フリガナ（名）",
        "print_name": "印刷用の表記",
        "birth_date": "生年月日",
        "sex": "性別",
        "phone": "電話番号",
        "status": "状態",
        "external_ref": "住民記録の番号",
        "dnar_status": "DNARの書面",
        "dnar_location": "書面の保管場所",
        "acp_notes": "ACPの希望",
        "family_doctor_id": "かかりつけ医",
        "second_doctor_id": "二人目の主治医",
        "blood_abo": "血液型",
        "blood_rh": "Rh",
        "usual_state": "普段の様子",
        "infection_notes": "感染症",
        "insurance_kind": "保険の種類",
        "insurer_number": "保険者番号",
        "insurance_symbol": "記号",
        "insurance_number": "番号",
        "insurance_branch": "枝番",
        "last_confirmed_on": "確認日",
        "last_confirmed_source": "確認者の種別",
        "postal_code": "郵便番号",
        "prefecture": "都道府県",
        "municipality": "市区町村",
        "address_line": "町名・番地",
        "building": "建物名",
        "welfare_commissioner": "担当民生委員",
        "welfare_commissioner_phone": "民生委員の電話番号",
        "kit_delivered_on": "キット配布日",
        "notes": "メモ",
        "allergy": "アレルギー",
        "medication": "服用中の薬",
        "condition": "病気・既往歴",
        "contact": "緊急連絡先",
        "consent": "同意",
        "consent.withdrawn_on": "同意の撤回",
        "card": "カード",
        "allergy.status": "アレルギーの状態",
        "medication.status": "薬の状態",
        "condition.status": "病気の状態",
    },
}


def label(vocabulary: str, value) -> str:
    """The translated label of a stored code (an Enum or its value); unknown codes show as they are."""
    key = value.value if isinstance(value, Enum) else value
    text = LABELS[vocabulary].get(key)
    return gettext(text) if text else str(key or "")


# Which vocabulary a history row's value belongs to, by field name.
_FIELD_VOCABULARY = {
    "sex": "sex",
    "status": "status",
    "dnar_status": "dnar",
    "last_confirmed_source": "source",
    "blood_abo": "blood",
    "blood_rh": "blood",
}


def history_value(field: str, value: str | None, doctors: dict[str, str]) -> str:
    """A history value as a person reads it: labels for codes, names for doctors."""
    if value is None:
        return ""
    if field.endswith("_doctor_id"):
        return doctors.get(value, value)
    vocabulary = _FIELD_VOCABULARY.get(field)
    if vocabulary and value in LABELS[vocabulary]:
        return gettext(LABELS[vocabulary][value])
    return value
