//! Provincial-level divisions: Chinese name as used in the published lists
//! (属地), GB/T 2260 two-digit code, and the pinyin form used in genAI filing
//! numbers (`Beijing-WenXinYiYan-20230821`).

/// (Chinese name, GB/T 2260 code, pinyin as in filing numbers)
pub const PROVINCES: &[(&str, &str, &str)] = &[
    ("北京市", "11", "Beijing"),
    ("天津市", "12", "Tianjin"),
    ("河北省", "13", "Hebei"),
    ("山西省", "14", "Shanxi"),
    ("内蒙古自治区", "15", "NeiMengGu"),
    ("辽宁省", "21", "Liaoning"),
    ("吉林省", "22", "Jilin"),
    ("黑龙江省", "23", "HeiLongJiang"),
    ("上海市", "31", "Shanghai"),
    ("江苏省", "32", "Jiangsu"),
    ("浙江省", "33", "Zhejiang"),
    ("安徽省", "34", "Anhui"),
    ("福建省", "35", "Fujian"),
    ("江西省", "36", "Jiangxi"),
    ("山东省", "37", "Shandong"),
    ("河南省", "41", "Henan"),
    ("湖北省", "42", "Hubei"),
    ("湖南省", "43", "Hunan"),
    ("广东省", "44", "Guangdong"),
    ("广西壮族自治区", "45", "Guangxi"),
    ("海南省", "46", "Hainan"),
    ("重庆市", "50", "Chongqing"),
    ("四川省", "51", "Sichuan"),
    ("贵州省", "52", "Guizhou"),
    ("云南省", "53", "Yunnan"),
    ("西藏自治区", "54", "Xizang"),
    ("陕西省", "61", "Shaanxi"),
    ("甘肃省", "62", "Gansu"),
    ("青海省", "63", "Qinghai"),
    ("宁夏回族自治区", "64", "Ningxia"),
    ("新疆维吾尔自治区", "65", "Xinjiang"),
    ("台湾省", "71", "Taiwan"),
    ("香港特别行政区", "81", "Xianggang"),
    ("澳门特别行政区", "82", "Aomen"),
    // Central state-owned enterprises file through SASAC (国资委).
    ("国资委", "00", "ZhongYangQiYe"),
];

/// Looks a province up by Chinese name (full or short, e.g. `北京` or
/// `北京市`), by code or by pinyin (case-insensitive).
pub fn find(s: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    PROVINCES.iter().find(|(zh, code, py)| {
        *zh == s
            || *code == s
            || py.eq_ignore_ascii_case(s)
            || (s.chars().count() >= 2 && zh.starts_with(s))
    })
}

/// Canonical Chinese name of a province, if recognised.
pub fn canonical(s: &str) -> Option<&'static str> {
    find(s).map(|p| p.0)
}
