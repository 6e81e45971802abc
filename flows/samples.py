"""Synthetic scans with known text: the demo archive, the tests' pages and the benchmarks' pages.

Pages are rendered with the Noto fonts (Pillow + raqm shapes every complex script), then degraded like a scan
(slight skew, blur, grain). The text each page was rendered from is its ground truth. Nothing is downloaded.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ocr_models.scripts import LANGUAGE_SCRIPT

FONT_DIR = Path("/usr/share/fonts/truetype/noto")

# A few plain sentences per language, as an archive page in that language would hold.
SAMPLE_TEXT: dict[str, tuple[str, ...]] = {
    "eng": ("The archive holds letters, ledgers and maps",
            "from the nineteenth century. Each page is read",
            "with care and copied into the catalogue."),
    "hin": ("भारत एक विशाल देश है जहाँ अनेक भाषाएँ बोली जाती हैं।",
            "पुस्तकालय में पुरानी पांडुलिपियाँ सुरक्षित रखी गई हैं।",
            "हर पृष्ठ को ध्यान से पढ़ा और लिखा जाता है।"),
    "mar": ("महाराष्ट्रातील ग्रंथालयात अनेक जुनी हस्तलिखिते आहेत।",
            "प्रत्येक पान काळजीपूर्वक वाचले जाते।",
            "ही कागदपत्रे पुढील पिढ्यांसाठी जपली जातात।"),
    "ben": ("বাংলা ভাষা পৃথিবীর অন্যতম প্রধান ভাষা।",
            "গ্রন্থাগারে অনেক পুরনো পুঁথি সংরক্ষিত আছে।",
            "প্রতিটি পাতা যত্ন করে পড়া হয়।"),
    "pan": ("ਪੰਜਾਬੀ ਭਾਸ਼ਾ ਪੰਜਾਬ ਦੀ ਮੁੱਖ ਭਾਸ਼ਾ ਹੈ।",
            "ਲਾਇਬ੍ਰੇਰੀ ਵਿੱਚ ਬਹੁਤ ਸਾਰੀਆਂ ਪੁਰਾਣੀਆਂ ਹੱਥ-ਲਿਖਤਾਂ ਹਨ।",
            "ਹਰ ਪੰਨਾ ਧਿਆਨ ਨਾਲ ਪੜ੍ਹਿਆ ਜਾਂਦਾ ਹੈ।"),
    "guj": ("ગુજરાતી ભાષા ગુજરાત રાજ્યની મુખ્ય ભાષા છે.",
            "પુસ્તકાલયમાં ઘણી જૂની હસ્તપ્રતો સચવાયેલી છે.",
            "દરેક પાનું ધ્યાનથી વાંચવામાં આવે છે."),
    "ori": ("ଓଡ଼ିଆ ଭାଷା ଓଡ଼ିଶାର ସରକାରୀ ଭାଷା ଅଟେ।",
            "ପାଠାଗାରରେ ଅନେକ ପୁରୁଣା ତାଳପତ୍ର ପୋଥି ଅଛି।",
            "ପ୍ରତ୍ୟେକ ପୃଷ୍ଠାକୁ ଯତ୍ନର ସହିତ ପଢ଼ାଯାଏ।"),
    "tam": ("தமிழ் மொழி மிகவும் பழமையான மொழிகளில் ஒன்று.",
            "நூலகத்தில் பல பழைய ஓலைச்சுவடிகள் உள்ளன.",
            "ஒவ்வொரு பக்கமும் கவனமாக படிக்கப்படுகிறது."),
    "tel": ("తెలుగు భాష చాలా అందమైన భాష.",
            "గ్రంథాలయంలో అనేక పాత తాళపత్రాలు ఉన్నాయి.",
            "ప్రతి పేజీని జాగ్రత్తగా చదువుతారు."),
    "kan": ("ಕನ್ನಡ ಭಾಷೆ ಕರ್ನಾಟಕದ ಅಧಿಕೃತ ಭಾಷೆ.",
            "ಗ್ರಂಥಾಲಯದಲ್ಲಿ ಅನೇಕ ಹಳೆಯ ತಾಳೆಗರಿಗಳಿವೆ.",
            "ಪ್ರತಿ ಪುಟವನ್ನು ಎಚ್ಚರಿಕೆಯಿಂದ ಓದಲಾಗುತ್ತದೆ."),
    "mal": ("മലയാളം കേരളത്തിലെ ഔദ്യോഗിക ഭാഷയാണ്.",
            "ഗ്രന്ഥശാലയിൽ ധാരാളം പഴയ താളിയോലകൾ ഉണ്ട്.",
            "ഓരോ പേജും ശ്രദ്ധയോടെ വായിക്കുന്നു."),
    "tha": ("ภาษาไทยเป็นภาษาราชการของประเทศไทย",
            "ห้องสมุดเก็บรักษาเอกสารโบราณไว้มากมาย",
            "ทุกหน้าได้รับการอ่านอย่างระมัดระวัง"),
    "lao": ("ພາສາລາວເປັນພາສາລາດຊະການຂອງປະເທດລາວ",
            "ຫໍສະໝຸດເກັບຮັກສາເອກະສານບູຮານໄວ້ຫຼາຍ",
            "ທຸກໜ້າໄດ້ຮັບການອ່ານຢ່າງລະມັດລະວັງ"),
    "khm": ("ភាសាខ្មែរជាភាសាផ្លូវការនៃប្រទេសកម្ពុជា",
            "បណ្ណាល័យរក្សាទុកសាស្ត្រាស្លឹករឹតជាច្រើន",
            "ទំព័រនីមួយៗត្រូវបានអានដោយប្រុងប្រយ័ត្ន"),
    "mya": ("မြန်မာဘာသာစကားသည် မြန်မာနိုင်ငံ၏ ရုံးသုံးဘာသာစကား ဖြစ်သည်။",
            "စာကြည့်တိုက်တွင် ပေစာများစွာ ရှိသည်။",
            "စာမျက်နှာတိုင်းကို ဂရုတစိုက် ဖတ်ရှုသည်။"),
    "vie": ("Tiếng Việt là ngôn ngữ chính thức của Việt Nam.",
            "Thư viện lưu giữ nhiều tài liệu cổ quý giá.",
            "Mỗi trang được đọc và chép lại cẩn thận."),
}


@dataclass(frozen=True)
class SamplePage:
    lang: str
    text: str  # ground truth: the rendered lines joined by newlines
    image: Image.Image  # greyscale, with dpi set

    @property
    def script(self) -> str:
        return LANGUAGE_SCRIPT[self.lang].code


def font_path(lang: str) -> Path:
    script = LANGUAGE_SCRIPT[lang]
    name = "NotoSans-Regular.ttf" if script.code == "Latn" else f"NotoSans{script.name}-Regular.ttf"
    return FONT_DIR / name


def render_page(lang: str, *, dpi: int = 300, point_size: int = 12, lines: tuple[str, ...] | None = None,
                skew_degrees: float = 0.6, noise: float = 12.0, seed: int = 0,
                size_inches: tuple[float, float] = (7.0, 2.6)) -> SamplePage:
    """Render text in `lang` onto a scan-like greyscale page at `dpi` (a strip of a page by default)."""
    rng = random.Random(seed)
    lines = lines or SAMPLE_TEXT[lang]
    width, height = int(size_inches[0] * dpi), int(size_inches[1] * dpi)
    px = round(point_size * dpi / 72)
    font = ImageFont.truetype(str(font_path(lang)), px, layout_engine=ImageFont.Layout.RAQM)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    margin, y = int(0.5 * dpi), int(0.4 * dpi)
    for line in lines:
        draw.text((margin, y), line, font=font, fill=rng.randint(0, 40))
        y += int(px * 1.9)
    if skew_degrees:
        page = page.rotate(rng.uniform(-skew_degrees, skew_degrees), resample=Image.Resampling.BICUBIC,
                           fillcolor=255, expand=False)
    page = page.filter(ImageFilter.GaussianBlur(0.6))
    if noise:
        grain = Image.effect_noise((width, height), noise)
        page = Image.blend(page, grain, 0.12)
    page.info["dpi"] = (dpi, dpi)
    return SamplePage(lang=lang, text="\n".join(lines), image=page)


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=image.info.get("dpi", (300, 300)))
    return buf.getvalue()
