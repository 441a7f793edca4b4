from app.core.text import digits, has_control_chars, is_kana, kana_key, name_key, normalise_number


def test_kana_key_folds_hiragana_and_half_width():
    assert kana_key("みほん たろう") == kana_key("ﾐﾎﾝ ﾀﾛｳ") == kana_key("ミホン　タロウ") == "ミホンタロウ"


def test_name_key_folds_common_variants_only_for_search():
    assert name_key("髙橋 架空") == name_key("高橋架空")
    assert name_key("山﨑") == name_key("山崎")
    assert name_key("𠮷野") != name_key("吉野")  # 𠮷 is a different character, not a variant we fold


def test_numbers():
    assert digits("０４８０ー００ー１２３４") == "0480001234"
    assert normalise_number("０４８０－００－１２３４") == "0480-00-1234"
    assert is_kana("ミホン") and is_kana("みほん") and not is_kana("見本")
    assert has_control_chars("a\x00b") and not has_control_chars("a\tb")
