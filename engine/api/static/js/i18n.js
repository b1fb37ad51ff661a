// English and Arabic: the words of the dashboard, and numbers, money and dates in the
// reader's language (Intl, with Arabic-Indic digits and the Gregorian calendar in Arabic).

const LANG_KEY = "loyalty.lang";

const en = {
  "app.title": "Loyalty back office",
  "app.skip": "Skip to content",
  "app.switchLanguage": "العربية",
  "app.switchLanguageLabel": "Switch to Arabic",
  "app.signOut": "Sign out",
  "app.nav": "Sections",
  "app.loading": "Loading…",
  "app.noData": "No data yet.",
  "app.unavailable": "This figure is not available from the API yet.",
  "nav.overview": "Overview",
  "nav.tiers": "Tiers",
  "nav.churn": "Churn risk",
  "nav.member": "Members",
  "nav.program": "Program",
  "nav.deadLetters": "Dead letters",

  "signin.title": "Sign in",
  "signin.intro": "Type the back-office API key. It is kept for this browser tab only and "
    + "forgotten when the tab closes.",
  "signin.key": "API key",
  "signin.submit": "Sign in",
  "signin.wrongKey": "That API key was not accepted. Check it and try again.",
  "signin.expired": "The API no longer accepts your key. Sign in again.",
  "signin.empty": "Type the API key first.",
  "signin.unreachable": "The API could not be reached. Is it running?",

  "error.generic": "Something went wrong: {detail}",
  "error.unreachable": "The API could not be reached. Check that it is running and try again.",
  "error.notFound": "Not found: {detail}",

  "period.from": "From month",
  "period.to": "To month",
  "period.apply": "Show",

  "overview.title": "Overview",
  "overview.period": "{from} to {to}",
  "overview.members": "Members",
  "overview.activeMembers": "Active members",
  "overview.pointsIssued": "Points issued",
  "overview.pointsRedeemed": "Points redeemed",
  "overview.pointsExpired": "Points expired",
  "overview.liability": "Outstanding liability",
  "overview.liabilityNote": "{points} points",
  "overview.aov": "Average order value",
  "overview.frequency": "Purchase frequency",
  "overview.frequencyNote": "orders per buyer",
  "overview.repeat": "Repeat-purchase rate",
  "overview.redemptionRate": "Redemption rate",
  "overview.nps": "NPS",
  "overview.npsNote": "{n} responses",
  "overview.orders": "Orders",
  "overview.revenue": "Revenue",
  "overview.chart.points": "Points issued, redeemed and expired per month",
  "overview.chart.members": "Members and active members per month",
  "overview.chart.liability": "Outstanding liability (points) at each month's end",
  "overview.chart.aov": "Average order value per month",
  "overview.chart.rates": "Repeat-purchase and redemption rates per month",
  "overview.chart.nps": "NPS per month",
  "overview.chart.frequency": "Purchase frequency per month",
  "overview.newMembers": "New members",

  "chart.showData": "Show the data as a table",
  "chart.month": "Month",

  "tiers.title": "Tiers",
  "tiers.mix": "Members per tier",
  "tiers.tier": "Tier",
  "tiers.members": "Members",
  "tiers.share": "Share",
  "tiers.threshold": "Qualifying points",
  "tiers.multiplier": "Earn multiplier",
  "tiers.overTime": "Members per tier at each month's end",
  "tiers.movement": "Upgrades and downgrades per month",
  "tiers.upgrades": "Upgrades",
  "tiers.downgrades": "Downgrades",

  "tier.bronze": "Bronze",
  "tier.silver": "Silver",
  "tier.gold": "Gold",
  "tier.platinum": "Platinum",

  "churn.title": "Churn risk",
  "churn.grades": "Members per grade",
  "churn.grade": "Grade",
  "churn.list": "Members graded “{grade}”",
  "churn.chooseGrade": "Grade to list",
  "churn.export": "Export CSV",
  "churn.exporting": "Preparing the CSV…",
  "churn.exported": "Exported {n} members.",
  "churn.customer": "Customer",
  "churn.recency": "Recency (days)",
  "churn.lastOrder": "Last order",
  "churn.frequency": "Orders",
  "churn.value": "Spend",
  "churn.gap": "Expected gap (days)",
  "churn.categories": "Usual categories",
  "churn.rfm": "R / F / M scores",
  "churn.sortBy": "Sort by {column}",
  "churn.empty": "No members in this grade.",
  "churn.judgedAt": "Grades as of {date} (the latest event the engine has seen).",
  "churn.never": "never ordered",

  "event.Enrolled": "Enrolled",
  "event.Registered": "Registered",
  "event.OrderPlaced": "Order placed",
  "event.OrderRefunded": "Order refunded",
  "event.PointsEarned": "Points earned",
  "event.PointsActivated": "Points activated",
  "event.PointsReversed": "Points reversed",
  "event.PointsRedeemed": "Points redeemed",
  "event.PointsExpired": "Points expired",
  "event.QualifyingPointsLapsed": "Qualifying points lapsed",
  "event.TierChanged": "Tier changed",
  "event.TierReviewed": "Tier reviewed",
  "event.SurveyAnswered": "Survey answered",
  "event.ReferralLinked": "Referral linked",
  "event.ReferralQualified": "Referral qualified",
  "event.ReferralRewarded": "Referral rewarded",
  "event.ReferralRefused": "Referral refused",
  "event.FactRecorded": "Recorded, no points",
  "rule.spend": "Spend",
  "rule.review": "Review",
  "rule.share": "Share",
  "rule.welcome": "Welcome",
  "rule.newsletter": "Newsletter",
  "rule.referral_friend": "Referral (friend)",
  "rule.referral_referrer": "Referral (referrer)",
  "rule.tier_entry": "Tier entry bonus",
  "rule.refund": "Refund",
  "status.pending": "pending",
  "status.active": "active",
  "detail.order": "order {id}, {total}",
  "detail.refund": "order {id}, {amount} refunded",
  "detail.pendingUntil": "pending until {date}",
  "detail.expires": "expires {date}",
  "detail.coupon": "coupon",
  "detail.tier": "{from} → {to}",
  "detail.score": "score {score} of 10",
  "member.older": "Older events",
  "member.newer": "Newer events",
  "member.eventsShown": "Events {from}–{to}",
  "program.fromStart": "the start (shipped default)",
  "program.state": "State",
  "program.scheduled": "scheduled",
  "program.superseded": "superseded",
  "program.chooseFile": "Choose a file…",
  "program.noFile": "No file chosen",

  "grade.champion": "Champion",
  "grade.loyal": "Loyal",
  "grade.regular": "Regular",
  "grade.at_risk": "At risk",

  "pager.label": "Pages",
  "pager.status": "{from}–{to} of {total}",
  "pager.prev": "Previous page",
  "pager.next": "Next page",
  "pager.pageSize": "Rows per page",

  "member.title": "Members",
  "member.search": "Customer id",
  "member.searchButton": "Find",
  "member.searchHint": "Type a customer id exactly as the storefront sends it, e.g. cust-1001.",
  "member.notFound": "No member with customer id “{id}”.",
  "member.heading": "Member {id}",
  "member.asOf": "Balance as of",
  "member.asOfHint": "Leave empty for now.",
  "member.available": "Available",
  "member.pending": "Pending",
  "member.pendingNote": "inside the return window",
  "member.expiring": "Expiring within 30 days",
  "member.expiringOn": "soonest on {date}",
  "member.nothingExpiring": "nothing",
  "member.lifetime": "Earned in total",
  "member.redeemed": "Redeemed",
  "member.expired": "Expired",
  "member.reversed": "Reversed",
  "member.tier": "Tier",
  "member.qualifying": "{points} qualifying points",
  "member.toNext": "{points} points to {tier}",
  "member.topTier": "Top tier reached",
  "member.lastActivity": "Last activity",
  "member.judgedAt": "Judged at {date}.",
  "member.lots": "Points expiring soonest",
  "member.lotExpires": "Expires",
  "member.lotPoints": "Points",
  "member.history": "History",
  "member.when": "When",
  "member.event": "What happened",
  "member.points": "Points",
  "member.rule": "Rule",
  "member.version": "Program version",
  "member.source": "Source",
  "member.details": "Details",
  "member.noHistory": "No history.",
  "member.redeem": "Redeem points",
  "member.reward": "Reward",
  "member.sku": "Product SKU",
  "member.redeemButton": "Redeem…",
  "member.confirmTitle": "Confirm the redemption",
  "member.confirmText": "Spend {points} points of {id} on “{reward}”? Available now: {available}.",
  "member.confirm": "Redeem",
  "member.cancel": "Cancel",
  "member.coupon": "Coupon code for the customer:",
  "member.redeemed.ok": "Redeemed {points} points for “{reward}”.",
  "member.refused": "Refused: {detail}",
  "member.rewardCost": "{name} — {points} points",
  "member.skuNeeded": "Type the product SKU of the free product.",

  "program.title": "Program",
  "program.inForce": "Version in force",
  "program.version": "Version",
  "program.effective": "In force from",
  "program.hash": "Content hash",
  "program.currency": "Currency",
  "program.history": "Version history",
  "program.rewards": "Rewards catalog",
  "program.reward": "Reward",
  "program.kind": "Kind",
  "program.points": "Points",
  "program.value": "Value",
  "program.tiers": "Tiers",
  "program.file": "Program file",
  "program.showFile": "Show the program file",
  "program.draft": "Try a draft program",
  "program.draftIntro": "Choose a draft program file (TOML). It is checked here and never "
    + "published from this page.",
  "program.draftFile": "Draft program file",
  "program.check": "Check the draft",
  "program.valid": "The draft is valid.",
  "program.invalid": "The draft has problems:",
  "program.changes": "What the draft changes",
  "program.noChanges": "The draft changes nothing.",
  "program.setting": "Setting",
  "program.current": "In force",
  "program.draftValue": "Draft",
  "program.simulate": "Simulate last year under the draft",
  "program.simulation": "What-if simulation",
  "program.simulateUnavailable": "The what-if simulation is not offered by this API yet; "
    + "when it is, the result will appear here.",
  "program.simulating": "Simulating…",
  "kind.percent_off": "Percent off",
  "kind.amount_off": "Amount off",
  "kind.free_shipping": "Free shipping",
  "kind.free_product": "Free product",

  "dead.title": "Dead letters",
  "dead.intro": "Messages the worker refused, with the reason. They earned nothing; "
    + "fix them at the source and send them again.",
  "dead.count": "{n} refused messages",
  "dead.none": "No message was refused.",
  "dead.topic": "Topic",
  "dead.position": "Partition / offset",
  "dead.reason": "Reason",
  "dead.customer": "Customer",
  "dead.event": "Event id",
  "dead.payload": "Message",
};

const ar = {
  "app.title": "المكتب الخلفي لبرنامج الولاء",
  "app.skip": "تخطَّ إلى المحتوى",
  "app.switchLanguage": "English",
  "app.switchLanguageLabel": "التبديل إلى الإنجليزية",
  "app.signOut": "تسجيل الخروج",
  "app.nav": "الأقسام",
  "app.loading": "جارٍ التحميل…",
  "app.noData": "لا توجد بيانات بعد.",
  "app.unavailable": "هذا الرقم غير متاح من الواجهة البرمجية بعد.",
  "nav.overview": "نظرة عامة",
  "nav.tiers": "المستويات",
  "nav.churn": "خطر فقدان العملاء",
  "nav.member": "الأعضاء",
  "nav.program": "البرنامج",
  "nav.deadLetters": "الرسائل المرفوضة",

  "signin.title": "تسجيل الدخول",
  "signin.intro": "اكتب مفتاح الواجهة البرمجية للمكتب الخلفي. يُحفظ لهذا التبويب فقط ويُنسى "
    + "عند إغلاقه.",
  "signin.key": "مفتاح الواجهة البرمجية",
  "signin.submit": "دخول",
  "signin.wrongKey": "لم يُقبل مفتاح الواجهة البرمجية هذا. تحقّق منه وحاول مرة أخرى.",
  "signin.expired": "لم تعد الواجهة البرمجية تقبل مفتاحك. سجّل الدخول من جديد.",
  "signin.empty": "اكتب مفتاح الواجهة البرمجية أولًا.",
  "signin.unreachable": "تعذّر الوصول إلى الواجهة البرمجية. هل هي قيد التشغيل؟",

  "error.generic": "حدث خطأ: {detail}",
  "error.unreachable": "تعذّر الوصول إلى الواجهة البرمجية. تأكّد من تشغيلها وحاول مرة أخرى.",
  "error.notFound": "غير موجود: {detail}",

  "period.from": "من شهر",
  "period.to": "إلى شهر",
  "period.apply": "عرض",

  "overview.title": "نظرة عامة",
  "overview.period": "من {from} إلى {to}",
  "overview.members": "الأعضاء",
  "overview.activeMembers": "الأعضاء النشطون",
  "overview.pointsIssued": "النقاط الممنوحة",
  "overview.pointsRedeemed": "النقاط المستبدلة",
  "overview.pointsExpired": "النقاط المنتهية",
  "overview.liability": "الالتزام القائم",
  "overview.liabilityNote": "النقاط: {points}",
  "overview.aov": "متوسط قيمة الطلب",
  "overview.frequency": "معدل تكرار الشراء",
  "overview.frequencyNote": "طلبات لكل مشترٍ",
  "overview.repeat": "نسبة الشراء المتكرر",
  "overview.redemptionRate": "نسبة الاستبدال",
  "overview.nps": "صافي نقاط الترويج",
  "overview.npsNote": "عدد الإجابات: {n}",
  "overview.orders": "الطلبات",
  "overview.revenue": "الإيرادات",
  "overview.chart.points": "النقاط الممنوحة والمستبدلة والمنتهية شهريًا",
  "overview.chart.members": "الأعضاء والأعضاء النشطون شهريًا",
  "overview.chart.liability": "الالتزام القائم (نقاط) في نهاية كل شهر",
  "overview.chart.aov": "متوسط قيمة الطلب شهريًا",
  "overview.chart.rates": "نسبتا الشراء المتكرر والاستبدال شهريًا",
  "overview.chart.nps": "صافي نقاط الترويج شهريًا",
  "overview.chart.frequency": "معدل تكرار الشراء شهريًا",
  "overview.newMembers": "الأعضاء الجدد",

  "chart.showData": "عرض البيانات في جدول",
  "chart.month": "الشهر",

  "tiers.title": "المستويات",
  "tiers.mix": "الأعضاء في كل مستوى",
  "tiers.tier": "المستوى",
  "tiers.members": "الأعضاء",
  "tiers.share": "النسبة",
  "tiers.threshold": "النقاط المؤهِّلة",
  "tiers.multiplier": "مضاعف الكسب",
  "tiers.overTime": "الأعضاء في كل مستوى في نهاية كل شهر",
  "tiers.movement": "الترقيات والتخفيضات شهريًا",
  "tiers.upgrades": "الترقيات",
  "tiers.downgrades": "التخفيضات",

  "tier.bronze": "برونزي",
  "tier.silver": "فضي",
  "tier.gold": "ذهبي",
  "tier.platinum": "بلاتيني",

  "churn.title": "خطر فقدان العملاء",
  "churn.grades": "الأعضاء في كل فئة",
  "churn.grade": "الفئة",
  "churn.list": "الأعضاء في فئة «{grade}»",
  "churn.chooseGrade": "الفئة المعروضة",
  "churn.export": "تصدير CSV",
  "churn.exporting": "جارٍ تجهيز ملف CSV…",
  "churn.exported": "عدد الأعضاء المصدَّرين: {n}.",
  "churn.customer": "العميل",
  "churn.recency": "الحداثة (أيام)",
  "churn.lastOrder": "آخر طلب",
  "churn.frequency": "الطلبات",
  "churn.value": "الإنفاق",
  "churn.gap": "الفاصل المتوقع (أيام)",
  "churn.categories": "الفئات المعتادة",
  "churn.rfm": "درجات الحداثة / التكرار / القيمة",
  "churn.sortBy": "الترتيب حسب {column}",
  "churn.empty": "لا يوجد أعضاء في هذه الفئة.",
  "churn.judgedAt": "الفئات كما في {date} (آخر حدث وصل إلى المحرّك).",
  "churn.never": "لم يطلب قط",

  "event.Enrolled": "انضمّ إلى البرنامج",
  "event.Registered": "سجّل حسابًا",
  "event.OrderPlaced": "طلب شراء",
  "event.OrderRefunded": "استرداد طلب",
  "event.PointsEarned": "نقاط مكتسبة",
  "event.PointsActivated": "تفعيل نقاط",
  "event.PointsReversed": "نقاط مسترجعة",
  "event.PointsRedeemed": "نقاط مستبدلة",
  "event.PointsExpired": "نقاط منتهية",
  "event.QualifyingPointsLapsed": "انقضاء نقاط مؤهِّلة",
  "event.TierChanged": "تغيّر المستوى",
  "event.TierReviewed": "مراجعة المستوى",
  "event.SurveyAnswered": "إجابة استبيان",
  "event.ReferralLinked": "ربط إحالة",
  "event.ReferralQualified": "تأهّل إحالة",
  "event.ReferralRewarded": "مكافأة إحالة",
  "event.ReferralRefused": "رفض إحالة",
  "event.FactRecorded": "سُجّل دون نقاط",
  "rule.spend": "الشراء",
  "rule.review": "تقييم",
  "rule.share": "مشاركة",
  "rule.welcome": "الترحيب",
  "rule.newsletter": "النشرة البريدية",
  "rule.referral_friend": "إحالة (الصديق)",
  "rule.referral_referrer": "إحالة (المُحيل)",
  "rule.tier_entry": "مكافأة دخول المستوى",
  "rule.refund": "استرداد",
  "status.pending": "معلّقة",
  "status.active": "نشطة",
  "detail.order": "الطلب {id}، {total}",
  "detail.refund": "الطلب {id}، استُرد {amount}",
  "detail.pendingUntil": "معلّقة حتى {date}",
  "detail.expires": "تنتهي في {date}",
  "detail.coupon": "القسيمة",
  "detail.tier": "{from} ← {to}",
  "detail.score": "الدرجة {score} من ١٠",
  "member.older": "أحداث أقدم",
  "member.newer": "أحداث أحدث",
  "member.eventsShown": "الأحداث {from}–{to}",
  "program.fromStart": "البداية (الإعداد الافتراضي)",
  "program.state": "الحالة",
  "program.scheduled": "مجدول",
  "program.superseded": "سابق",
  "program.chooseFile": "اختر ملفًا…",
  "program.noFile": "لم يُختر ملف",

  "grade.champion": "بطل",
  "grade.loyal": "مخلص",
  "grade.regular": "عادي",
  "grade.at_risk": "معرّض للفقدان",

  "pager.label": "الصفحات",
  "pager.status": "{from}–{to} من {total}",
  "pager.prev": "الصفحة السابقة",
  "pager.next": "الصفحة التالية",
  "pager.pageSize": "صفوف في الصفحة",

  "member.title": "الأعضاء",
  "member.search": "معرّف العميل",
  "member.searchButton": "بحث",
  "member.searchHint": "اكتب معرّف العميل كما يرسله المتجر تمامًا، مثل cust-1001.",
  "member.notFound": "لا يوجد عضو بمعرّف العميل «{id}».",
  "member.heading": "العضو {id}",
  "member.asOf": "الرصيد في تاريخ",
  "member.asOfHint": "اتركه فارغًا للوقت الحالي.",
  "member.available": "المتاح",
  "member.pending": "المعلّق",
  "member.pendingNote": "ضمن مهلة الإرجاع",
  "member.expiring": "ينتهي خلال ٣٠ يومًا",
  "member.expiringOn": "أقربها في {date}",
  "member.nothingExpiring": "لا شيء",
  "member.lifetime": "إجمالي المكتسب",
  "member.redeemed": "المستبدل",
  "member.expired": "المنتهي",
  "member.reversed": "المسترجع",
  "member.tier": "المستوى",
  "member.qualifying": "النقاط المؤهِّلة: {points}",
  "member.toNext": "المتبقي للوصول إلى {tier}: {points} نقطة",
  "member.topTier": "بلغ أعلى مستوى",
  "member.lastActivity": "آخر نشاط",
  "member.judgedAt": "محسوب في {date}.",
  "member.lots": "النقاط الأقرب انتهاءً",
  "member.lotExpires": "تنتهي في",
  "member.lotPoints": "النقاط",
  "member.history": "السجل",
  "member.when": "التاريخ",
  "member.event": "ما حدث",
  "member.points": "النقاط",
  "member.rule": "القاعدة",
  "member.version": "إصدار البرنامج",
  "member.source": "المصدر",
  "member.details": "التفاصيل",
  "member.noHistory": "لا يوجد سجل.",
  "member.redeem": "استبدال النقاط",
  "member.reward": "المكافأة",
  "member.sku": "رمز المنتج",
  "member.redeemButton": "استبدال…",
  "member.confirmTitle": "تأكيد الاستبدال",
  "member.confirmText": "استبدال {points} نقطة من رصيد {id} بمكافأة «{reward}»؟ المتاح الآن: {available}.",
  "member.confirm": "استبدال",
  "member.cancel": "إلغاء",
  "member.coupon": "رمز القسيمة للعميل:",
  "member.redeemed.ok": "استُبدلت {points} نقطة بمكافأة «{reward}».",
  "member.refused": "مرفوض: {detail}",
  "member.rewardCost": "{name} — {points} نقطة",
  "member.skuNeeded": "اكتب رمز المنتج المجاني.",

  "program.title": "البرنامج",
  "program.inForce": "الإصدار الساري",
  "program.version": "الإصدار",
  "program.effective": "ساري من",
  "program.hash": "بصمة المحتوى",
  "program.currency": "العملة",
  "program.history": "سجل الإصدارات",
  "program.rewards": "كتالوج المكافآت",
  "program.reward": "المكافأة",
  "program.kind": "النوع",
  "program.points": "النقاط",
  "program.value": "القيمة",
  "program.tiers": "المستويات",
  "program.file": "ملف البرنامج",
  "program.showFile": "عرض ملف البرنامج",
  "program.draft": "تجربة مسودة برنامج",
  "program.draftIntro": "اختر ملف مسودة برنامج (TOML). يُفحص هنا ولا يُنشر من هذه الصفحة أبدًا.",
  "program.draftFile": "ملف مسودة البرنامج",
  "program.check": "فحص المسودة",
  "program.valid": "المسودة صالحة.",
  "program.invalid": "في المسودة مشكلات:",
  "program.changes": "ما تغيّره المسودة",
  "program.noChanges": "المسودة لا تغيّر شيئًا.",
  "program.setting": "الإعداد",
  "program.current": "الساري",
  "program.draftValue": "المسودة",
  "program.simulate": "محاكاة العام الماضي وفق المسودة",
  "program.simulation": "محاكاة «ماذا لو»",
  "program.simulateUnavailable": "محاكاة «ماذا لو» غير متاحة في هذه الواجهة البرمجية بعد؛ "
    + "وعند توفرها ستظهر النتيجة هنا.",
  "program.simulating": "جارٍ المحاكاة…",
  "kind.percent_off": "خصم نسبة مئوية",
  "kind.amount_off": "خصم مبلغ",
  "kind.free_shipping": "شحن مجاني",
  "kind.free_product": "منتج مجاني",

  "dead.title": "الرسائل المرفوضة",
  "dead.intro": "رسائل رفضها المعالج مع سبب الرفض. لم تُكسب بها نقاط؛ أصلحها في المصدر "
    + "وأرسلها من جديد.",
  "dead.count": "عدد الرسائل المرفوضة: {n}",
  "dead.none": "لم تُرفض أي رسالة.",
  "dead.topic": "الموضوع",
  "dead.position": "القسم / الموضع",
  "dead.reason": "السبب",
  "dead.customer": "العميل",
  "dead.event": "معرّف الحدث",
  "dead.payload": "الرسالة",
};

/** Exported for the tests, which check both languages have the same words. */
export const DICTIONARIES = { en, ar };
export const LANGUAGES = Object.keys(DICTIONARIES);

let lang = initialLanguage();
let currency = "SAR";

function initialLanguage() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved && saved in DICTIONARIES) return saved;
  return (navigator.language || "en").toLowerCase().startsWith("ar") ? "ar" : "en";
}

export const language = () => lang;
export const isRtl = () => lang === "ar";

export function setLanguage(next) {
  lang = next in DICTIONARIES ? next : "en";
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang;
  document.documentElement.dir = isRtl() ? "rtl" : "ltr";
}

export function setCurrency(code) {
  if (code) currency = code;
}
export const currencyCode = () => currency;

/** The text of `key` in the current language, with `{name}` placeholders filled in. */
export function t(key, vars = {}) {
  const text = DICTIONARIES[lang][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** An identifier (order id, SKU) set inside translated text as a left-to-right island
 * (Unicode first-strong isolate), so Arabic punctuation around it stays in place. */
export const iso = (text) => `\u2068${text}\u2069`;

/** A word from a closed vocabulary (tiers, grades, reward kinds), or the raw value. */
export function term(prefix, value) {
  const key = `${prefix}.${value}`;
  return DICTIONARIES[lang][key] ?? en[key] ?? String(value);
}

// Locales: Arabic with Arabic-Indic digits and the Gregorian calendar (Saudi Arabia's default
// calendar in Intl is the Hijri one, which a merchant's accounts do not use).
const locale = () => (lang === "ar" ? "ar" : "en-GB");
const numberOptions = () => (lang === "ar" ? { numberingSystem: "arab" } : {});
const dateOptions = () => (lang === "ar" ? { numberingSystem: "arab", calendar: "gregory" } : {});

export const intlLocale = locale;

export function num(value, options = {}) {
  if (value === null || value === undefined || value === "") return "—";
  return new Intl.NumberFormat(locale(), { ...numberOptions(), ...options }).format(Number(value));
}

export function decimal(value, digits = 2) {
  return num(value, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A fraction (0..1) as a percentage. */
export function pct(value, digits = 1) {
  if (value === null || value === undefined) return "—";
  return num(value, { style: "percent", maximumFractionDigits: digits });
}

/** A decimal string of money in the program's currency. */
export function money(value, code = currency) {
  if (value === null || value === undefined || value === "") return "—";
  return num(value, { style: "currency", currency: code });
}

function parseDate(value) {
  if (!value) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function date(value) {
  const d = parseDate(value);
  return d ? new Intl.DateTimeFormat(locale(), {
    ...dateOptions(), year: "numeric", month: "short", day: "numeric",
  }).format(d) : "—";
}

export function dateTime(value) {
  const d = parseDate(value);
  return d ? new Intl.DateTimeFormat(locale(), {
    ...dateOptions(), year: "numeric", month: "short", day: "numeric", hour: "2-digit",
    minute: "2-digit",
  }).format(d) : "—";
}

/** "2025-03" as a month name and year. */
export function month(value, style = "short") {
  const [y, m] = String(value).split("-").map(Number);
  if (!y || !m) return String(value);
  return new Intl.DateTimeFormat(locale(), {
    ...dateOptions(), year: "numeric", month: style, timeZone: "UTC",
  }).format(new Date(Date.UTC(y, m - 1, 1)));
}
