"""Synthetic scans with known text: the demo archive, the tests' pages and the benchmarks' pages.

Pages are rendered with the Noto fonts (Pillow + raqm shapes every complex script), then degraded like a scan
(slight skew, blur, grain). The text each page was rendered from is its ground truth. Nothing is downloaded.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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


# More sentences per language for the accuracy benchmark's longer pages (flows/synth/eval_set.py): everyday
# archive prose (a village, a merchant's letter, prices after a flood, a school), written for each language.
MORE_TEXT: dict[str, tuple[str, ...]] = {
    "eng": ("In the dry season the villagers gathered at the temple to hear the old stories.",
            "The merchant wrote to his brother that the ship had reached the harbour safely.",
            "Rice prices rose sharply after the floods of that year.",
            "Children learned to write the alphabet on slates and palm leaves.",
            "A new school was opened near the river in the following spring."),
    "hin": ("गर्मी के मौसम में गाँव के लोग मंदिर में पुरानी कहानियाँ सुनने आते थे।",
            "व्यापारी ने अपने भाई को लिखा कि जहाज़ सुरक्षित बंदरगाह पहुँच गया है।",
            "उस वर्ष की बाढ़ के बाद चावल के दाम बहुत बढ़ गए।",
            "बच्चे स्लेट और ताड़ के पत्तों पर वर्णमाला लिखना सीखते थे।",
            "अगले वसंत में नदी के पास एक नया विद्यालय खोला गया।"),
    "mar": ("उन्हाळ्यात गावातील लोक मंदिरात जुन्या कथा ऐकायला जमत असत.",
            "व्यापाऱ्याने आपल्या भावाला लिहिले की जहाज सुखरूप बंदरात पोहोचले आहे.",
            "त्या वर्षीच्या पुरानंतर तांदळाचे भाव खूप वाढले.",
            "मुले पाटीवर आणि ताडपत्रांवर अक्षरे लिहायला शिकत असत.",
            "पुढच्या वसंतात नदीजवळ एक नवीन शाळा सुरू झाली."),
    "ben": ("গ্রীষ্মকালে গ্রামের মানুষ মন্দিরে পুরনো গল্প শুনতে আসত।",
            "বণিক তার ভাইকে লিখেছিল যে জাহাজটি নিরাপদে বন্দরে পৌঁছেছে।",
            "সেই বছরের বন্যার পরে চালের দাম অনেক বেড়ে গিয়েছিল।",
            "শিশুরা স্লেট আর তালপাতায় বর্ণমালা লিখতে শিখত।",
            "পরের বসন্তে নদীর ধারে একটি নতুন বিদ্যালয় খোলা হয়।"),
    "pan": ("ਗਰਮੀਆਂ ਵਿੱਚ ਪਿੰਡ ਦੇ ਲੋਕ ਗੁਰਦੁਆਰੇ ਵਿੱਚ ਪੁਰਾਣੀਆਂ ਕਹਾਣੀਆਂ ਸੁਣਨ ਆਉਂਦੇ ਸਨ।",
            "ਵਪਾਰੀ ਨੇ ਆਪਣੇ ਭਰਾ ਨੂੰ ਲਿਖਿਆ ਕਿ ਜਹਾਜ਼ ਸੁਰੱਖਿਅਤ ਬੰਦਰਗਾਹ ਪਹੁੰਚ ਗਿਆ ਹੈ।",
            "ਉਸ ਸਾਲ ਦੇ ਹੜ੍ਹ ਤੋਂ ਬਾਅਦ ਚੌਲਾਂ ਦੀਆਂ ਕੀਮਤਾਂ ਬਹੁਤ ਵਧ ਗਈਆਂ।",
            "ਬੱਚੇ ਫੱਟੀ ਉੱਤੇ ਅੱਖਰ ਲਿਖਣਾ ਸਿੱਖਦੇ ਸਨ।",
            "ਅਗਲੀ ਬਸੰਤ ਵਿੱਚ ਦਰਿਆ ਦੇ ਨੇੜੇ ਇੱਕ ਨਵਾਂ ਸਕੂਲ ਖੋਲ੍ਹਿਆ ਗਿਆ।"),
    "guj": ("ઉનાળામાં ગામના લોકો મંદિરમાં જૂની વાર્તાઓ સાંભળવા ભેગા થતા.",
            "વેપારીએ તેના ભાઈને લખ્યું કે વહાણ સલામત રીતે બંદરે પહોંચી ગયું છે.",
            "તે વર્ષના પૂર પછી ચોખાના ભાવ ખૂબ વધી ગયા.",
            "બાળકો પાટી પર મૂળાક્ષરો લખતાં શીખતાં.",
            "આવતી વસંતમાં નદી પાસે એક નવી શાળા ખોલવામાં આવી."),
    "ori": ("ଗ୍ରୀଷ୍ମ ଋତୁରେ ଗାଁର ଲୋକମାନେ ମନ୍ଦିରରେ ପୁରୁଣା କାହାଣୀ ଶୁଣିବାକୁ ଆସୁଥିଲେ।",
            "ବେପାରୀ ତାଙ୍କ ଭାଇକୁ ଲେଖିଲେ ଯେ ଜାହାଜ ନିରାପଦରେ ବନ୍ଦରରେ ପହଞ୍ଚିଛି।",
            "ସେହି ବର୍ଷର ବନ୍ୟା ପରେ ଚାଉଳର ଦାମ ବହୁତ ବଢ଼ିଗଲା।",
            "ପିଲାମାନେ ସ୍ଲେଟ ଓ ତାଳପତ୍ରରେ ଅକ୍ଷର ଲେଖିବା ଶିଖୁଥିଲେ।",
            "ପରବର୍ତ୍ତୀ ବସନ୍ତରେ ନଦୀ କୂଳରେ ଏକ ନୂଆ ବିଦ୍ୟାଳୟ ଖୋଲାଗଲା।"),
    "tam": ("கோடைக் காலத்தில் கிராம மக்கள் கோயிலில் பழைய கதைகளைக் கேட்கக் கூடினர்.",
            "கப்பல் பத்திரமாகத் துறைமுகம் சேர்ந்தது என்று வணிகர் தம்பிக்கு எழுதினார்.",
            "அந்த ஆண்டு வெள்ளத்திற்குப் பிறகு அரிசியின் விலை மிகவும் உயர்ந்தது.",
            "குழந்தைகள் பலகையிலும் ஓலையிலும் எழுத்துகளை எழுதக் கற்றனர்.",
            "அடுத்த வசந்த காலத்தில் ஆற்றங்கரையில் ஒரு புதிய பள்ளி திறக்கப்பட்டது."),
    "tel": ("వేసవిలో గ్రామ ప్రజలు పాత కథలు వినడానికి గుడి దగ్గర చేరేవారు.",
            "వ్యాపారి తన సోదరుడికి ఓడ సురక్షితంగా రేవు చేరిందని రాశాడు.",
            "ఆ సంవత్సరం వరదల తర్వాత బియ్యం ధరలు బాగా పెరిగాయి.",
            "పిల్లలు పలకల మీద అక్షరాలు రాయడం నేర్చుకున్నారు.",
            "తరువాతి వసంతంలో నది ఒడ్డున కొత్త పాఠశాల ప్రారంభమైంది."),
    "kan": ("ಬೇಸಿಗೆಯಲ್ಲಿ ಹಳ್ಳಿಯ ಜನರು ಹಳೆಯ ಕಥೆಗಳನ್ನು ಕೇಳಲು ದೇವಾಲಯದಲ್ಲಿ ಸೇರುತ್ತಿದ್ದರು.",
            "ವ್ಯಾಪಾರಿ ತನ್ನ ಸಹೋದರನಿಗೆ ಹಡಗು ಸುರಕ್ಷಿತವಾಗಿ ಬಂದರು ತಲುಪಿದೆ ಎಂದು ಬರೆದನು.",
            "ಆ ವರ್ಷದ ಪ್ರವಾಹದ ನಂತರ ಅಕ್ಕಿಯ ಬೆಲೆ ತುಂಬಾ ಏರಿತು.",
            "ಮಕ್ಕಳು ಸ್ಲೇಟಿನ ಮೇಲೆ ಅಕ್ಷರಗಳನ್ನು ಬರೆಯಲು ಕಲಿತರು.",
            "ಮುಂದಿನ ವಸಂತದಲ್ಲಿ ನದಿಯ ಬಳಿ ಹೊಸ ಶಾಲೆಯನ್ನು ತೆರೆಯಲಾಯಿತು."),
    "mal": ("വേനൽക്കാലത്ത് ഗ്രാമവാസികൾ പഴയ കഥകൾ കേൾക്കാൻ ക്ഷേത്രത്തിൽ ഒത്തുകൂടി.",
            "കപ്പൽ സുരക്ഷിതമായി തുറമുഖത്ത് എത്തിയെന്ന് വ്യാപാരി സഹോദരന് എഴുതി.",
            "ആ വർഷത്തെ വെള്ളപ്പൊക്കത്തിനു ശേഷം അരിയുടെ വില വളരെ കൂടി.",
            "കുട്ടികൾ സ്ലേറ്റിൽ അക്ഷരങ്ങൾ എഴുതാൻ പഠിച്ചു.",
            "അടുത്ത വസന്തത്തിൽ പുഴയുടെ അടുത്ത് ഒരു പുതിയ സ്കൂൾ തുറന്നു."),
    "tha": ("ในฤดูร้อนชาวบ้านมาชุมนุมกันที่วัดเพื่อฟังนิทานเก่า",
            "พ่อค้าเขียนจดหมายถึงน้องชายว่าเรือมาถึงท่าอย่างปลอดภัย",
            "หลังน้ำท่วมในปีนั้นราคาข้าวสูงขึ้นมาก",
            "เด็กๆ หัดเขียนตัวอักษรบนกระดานชนวน",
            "ปีต่อมามีการเปิดโรงเรียนใหม่ใกล้แม่น้ำ"),
    "lao": ("ໃນລະດູຮ້ອນຊາວບ້ານມາເຕົ້າໂຮມກັນທີ່ວັດເພື່ອຟັງນິທານເກົ່າ",
            "ພໍ່ຄ້າຂຽນຈົດໝາຍເຖິງນ້ອງຊາຍວ່າເຮືອມາຮອດທ່າຢ່າງປອດໄພ",
            "ຫຼັງນ້ຳຖ້ວມໃນປີນັ້ນລາຄາເຂົ້າສູງຂຶ້ນຫຼາຍ",
            "ເດັກນ້ອຍຮຽນຂຽນຕົວອັກສອນເທິງກະດານ",
            "ປີຕໍ່ມາມີການເປີດໂຮງຮຽນໃໝ່ໃກ້ແມ່ນ້ຳ"),
    "khm": ("នៅរដូវក្តៅ អ្នកភូមិប្រមូលផ្តុំគ្នានៅវត្ត ដើម្បីស្តាប់រឿងព្រេងចាស់ៗ",
            "ឈ្មួញបានសរសេរទៅប្អូនប្រុសថា កប៉ាល់បានមកដល់កំពង់ផែដោយសុវត្ថិភាព",
            "បន្ទាប់ពីទឹកជំនន់ឆ្នាំនោះ តម្លៃអង្ករបានឡើងខ្ពស់ណាស់",
            "កុមាររៀនសរសេរអក្សរនៅលើក្តារខៀន",
            "នៅឆ្នាំបន្ទាប់ សាលារៀនថ្មីមួយត្រូវបានបើកនៅជិតទន្លេ"),
    "mya": ("နွေရာသီတွင် ရွာသားများသည် ပုံပြင်ဟောင်းများ နားထောင်ရန် ဘုန်းကြီးကျောင်းတွင် စုဝေးကြသည်။",
            "ကုန်သည်သည် သင်္ဘော ဆိပ်ကမ်းသို့ ဘေးကင်းစွာ ရောက်ရှိကြောင်း ညီထံ စာရေးခဲ့သည်။",
            "ထိုနှစ် ရေကြီးပြီးနောက် ဆန်ဈေး အလွန်တက်ခဲ့သည်။",
            "ကလေးများသည် ကျောက်သင်ပုန်းပေါ်တွင် အက္ခရာ ရေးသားရန် သင်ယူကြသည်။",
            "နောက်နှစ်တွင် မြစ်အနီး၌ ကျောင်းသစ်တစ်ကျောင်း ဖွင့်လှစ်ခဲ့သည်။"),
    "vie": ("Vào mùa hè, dân làng tụ họp ở đình để nghe những câu chuyện xưa.",
            "Người lái buôn viết thư cho em trai rằng con tàu đã cập bến an toàn.",
            "Sau trận lụt năm ấy, giá gạo tăng lên rất cao.",
            "Trẻ em học viết chữ cái trên bảng đá.",
            "Mùa xuân năm sau, một ngôi trường mới được mở gần bờ sông."),
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
        page = Image.blend(page, grain(page.size, noise, seed), 0.12)
    page.info["dpi"] = (dpi, dpi)
    return SamplePage(lang=lang, text="\n".join(lines), image=page)


def grain(size: tuple[int, int], sigma: float, seed: int) -> Image.Image:
    """Scanner grain: Gaussian noise about mid-grey, drawn from `seed`. Pillow's `effect_noise` draws from the
    C library's one generator, which anything in the process may have moved: a page would differ with what
    ran before it (a test failed one run in four, depending on the tests run before it in its worker)."""
    noise = np.random.default_rng(seed).normal(128, sigma, (size[1], size[0]))
    return Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8))


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=image.info.get("dpi", (300, 300)))
    return buf.getvalue()
