"""Is someone in danger? Emergencies and suicidal crises, in five languages, before anything else.

Two signals, either of which is enough (recall first: a missed emergency is the worst error the
assistant can make):
- phrase patterns per language on the folded text (no diacritics, lower case), so "dziecko nie
  oddycha", "vaikas nekvepuoja!!!" and "my child is not breathing" are caught however they are typed;
- the classifier (knowledge/classifier.py), which learns the emergency and crisis examples of
  knowledge/conversation.yml against every other example (topics, acts, out of scope), for
  wordings the patterns miss.

Short negative or unsure replies ("no", "nie wiem", "nē") never trigger: the classifier signal
needs MIN_WORDS words, and no pattern matches them (tests/test_safety.py tries both ways).
"""

from __future__ import annotations

import re

from knowledge.textnorm import fold

EMERGENCY, CRISIS = "emergency", "crisis"
MIN_WORDS = 3
CLASSIFIER_MIN = 0.5  # the classifier's probability of emergency or crisis

_EMERGENCY = {
    "en": r"""
        \b(not|isn'?t|isnt|stopped|can'?t|cant|cannot|doesn'?t|does not|is not|no longer|hardly|barely)\s+breath
        | \bunconscious | \bpassed\s+out | \bfainted | \bwon'?t\s+wake | \bnot\s+waking | \bunresponsive | \bcollapsed
        | \bbleed(ing|s)?\s+(a\s+lot|heavily|badly|profusely|everywhere|so\s+much) | \b(so\s+much|lots\s+of|a\s+lot\s+of)\s+blood
        | \b(won'?t|can'?t|cannot|doesn'?t)\s+stop\s+(the\s+)?bleed | \bbleeding\s+out
        | \bheart\s+attack | \bchest\s+pain | \bhaving\s+a\s+stroke | \bchok(ing|ed|es)\b
        | \b(hitting|beating|hurting|attacking|strangling|kicking)\s+(me|us|my)\b | \b(hit|beat|attacked|strangled|stabbed)\s+me\b
        | \b(threaten\w*|going|wants|trying)\s+to\s+kill\b | \bhas\s+a\s+(knife|gun)\b | \b(breaking|broke|broken)\s+in(to)?\b
        | \bon\s+fire\b | \b(there'?s|there\s+is)\s+(a\s+)?fire\b | \bfire\s+in\s+(my|the|our)\b | \bsmoke\s+(everywhere|in\s+(my|the|our))\b
        | \boverdos | \bpoison(ed|ing)\b | \bswallowed\s+(pills|poison|bleach|batter) | \bcall\s+(an\s+)?ambulance | \bneed\s+an\s+ambulance
        | \b(i'?m|i\s+am|he'?s|she'?s|is)\s+dying\b(?!\s+to) | \b(seriously|badly)\s+(hurt|injured)
        | \bheavy\s+bleeding | \bbleeding\b.*\b(help|not\s+answering|unconscious|won'?t\s+stop) | \bstroke\s*\? | \bface\s+is\s+drooping
        | \b(man|someone|guy|person)\s+with\s+a\s+(knife|gun) | \bfull\s+of\s+smoke | \bfire\s*!+ | ^fire\s*[.!]*$ | \bthreaten\w*\s+me\b | \b(smell\s+of|smells\s+of|leaking)\s+gas | \bgas\s+(leak|smell) | \bthrough\s+the\s+ice | \bflames\b
        | \b(accident|crash)\b.*\b(injured|hurt|trapped|bleeding|unconscious) | \bpeople\s+are\s+(injured|hurt) | \btrapped\s+in\s+(the|a|my)
        | \b(drank|swallowed|ate)\s+(cleaning|bleach|poison|chemical|detergent|pills|tablets) | \bnot\s+br\w*th | \bhad\s+a\s+(car\s+)?accident
        | \bbeating\s+(his|her|my)\s+(wife|husband|child|kid|partner|girlfriend|boyfriend) | \bhit\s+(his|her|my)\s+head\b
    """,
    "sv": r"""
        \bandas\s+(inte|ej) | \bslutat\s+andas | \bkan\s+inte\s+andas | \bmedvetslos | \bsvimma | \bvaknar\s+inte | \bgar\s+inte\s+att\s+vacka
        | \breagerar\s+inte | \bblod(ar|er)\s+(mycket|kraftigt|massor) | \bmycket\s+blod | \bslutar\s+inte\s+blod | \bhjartattack | \bhjartinfarkt
        | \bfatt\s+en\s+stroke | \bbrostsmart | \bsatt\s+i\s+halsen | \bkvavs | \bslar\s+(mig|oss|barnen) | \bmisshandla | \bhotar\s+(att|mig|oss)
        | \bska\s+doda | \bvill\s+doda\s+(mig|oss) | \bhar\s+en\s+kniv | \bbryter\s+sig\s+in | \bbrinner | \bbrand\s+i\s+(mitt|min|var|vart|huset|lagenheten|koket)
        | \beld\s+i\s+(mitt|min|huset|lagenheten|koket) | \bror\s+(overallt|i\s+lagenheten) | \bdet\s+ryker | \boverdos | \bforgift | \bring\s+(en\s+)?ambulans
        | \bbehover\s+(en\s+)?ambulans | \b(allvarligt|svart)\s+skadad | \bhaller\s+pa\s+att\s+do
        | \bbloder\s+(jattemycket|mycket|kraftigt) | \bkraftig\s+blodning | \bfar\s+ingen\s+luft | \bstroke\s*\? | \bkvavas | \bman\s+med\s+kniv
        | \bfullt\s+(av|med)\s+rok | \bbrand\s*!+ | ^brand\b | \b(bil)?olycka\b.*\b(skadade|skadad|fast|bloder|medvetslos)
        | \b(folk|manniskor)\s+ar\s+skadade | \bsitter\s+fast\s+i\s+bilen | \b(druckit|svalt|atit)\s+(rengoringsmedel|klorin|gift|tabletter|piller)
        | \bslar\s+(sin|hans|hennes)\s+(fru|man|sambo) | \bslog\s+i\s+huvudet | \bgaslukt | \bgenom\s+isen | \bfallit\s+ihop | \bnagon\s+dor\b | \battackerar\s+(mig|oss) | \bkrockat\b | \blagorna\b
    """,
    "pl": r"""
        \bnie\s+oddycha | \bprzesta\w*\s+oddychac | \bnie\s+moze\s+oddychac | \bnieprzytomn | \bzemdla | \bstraci\w*\s+przytomnosc | \bnie\s+budzi\s+sie
        | \bnie\s+reaguje | \bkrwawi\s+(mocno|bardzo|strasznie|caly) | \b(duzo|pelno|mnostwo)\s+krwi | \bkrwotok | \bnie\s+przestaje\s+krwawic
        | \bzawal | \budar | \bbol\w*\s+w\s+klatce | \bzakrztusi | \bdlawi\s+sie | \budlawi | \bbije\s+(mnie|nas|dzieci) | \bpobi\w*\s+mnie
        | \bgrozi\w*\s+(mi|nam|ze|smiercia) | \bzabije\s+(mnie|nas) | \bchce\s+(mnie|nas)\s+zabic | \bma\s+noz | \bwlamuj | \bpali\s+sie | \bpozar\b | \bnie\s+moge\s+oddychac | \bczuc\s+gaz | \bulatnia\s+sie\s+gaz | \bpod\s+lod | \bzaslab | \bwypadek\s+samochodowy | \bplomien\w* | \bpali\s+sie\s*!(?!\w)
        | \bogien\s+w | \bdym\s+(w|wszedzie) | \bprzedawkowa | \botru | \bzatru\w*\s+sie | \bpolkn\w*\s+(tabletki|leki|trutk|srodek)
        | \bwezwij\w*\s+karetk | \bpotrzeb\w*\s+karetk | \bkaretk\w*\s+(szybko|teraz|natychmiast) | \bumiera\b | \bciezko\s+rann
        | \bbardzo\s+krwawi | \bkrwawi\b.*\b(nie\s+odpowiada|pomocy|nie\s+da) | \bdlawi | \bmnie\s+bije | \bz\s+nozem | \bw\s+dymie
        | \bwypadek\b.*\b(ranni|krwawi|zakleszcz|nieprzytomn) | \bsa\s+ranni | \bwypi\w*\s+(plyn|wybielacz|trucizn|chemi|domestos)
        | \bbije\s+(zone|meza|dziecko|partnerke) | \bmnie\s+atakuje | \buderzy\w*\s+sie\s+w\s+glowe | \bpozar\b | \bnie\s+moge\s+oddychac | \bczuc\s+gaz | \bulatnia\s+sie\s+gaz | \bpod\s+lod | \bzaslab | \bwypadek\s+samochodowy | \bplomien\w* | \bpali\s+sie\s*!
    """,
    "lt": r"""
        \bnekvepuoja | \bnustojo\s+kvepuoti | \bnegali\s+kvepuoti | \bbe\s+samones | \bneteko\s+samones | \bnualpo | \bnepabunda | \bnereaguoja
        | \b(stipriai|labai|smarkiai)\s+kraujuoja | \bdaug\s+kraujo | \bnesustoja\s+kraujuoti | \bkraujavimas\s+nesustoja | \binfarkt | \binsult
        | \bskauda\s+krutin | \buzspringo | \bdusta | \bmusa\s+(mane|mus|vaikus) | \bsumuse\s+mane | \bgrasina | \bnuzudys | \bnori\s+(mane|mus)\s+nuzudyti
        | \bturi\s+peili | \bisilauzia | \bisilauze | \bgaisras | \bdega\s+(namas|butas|virtuve|namai) | \buzsidege | \bdumai\s+(visur|bute|name)
        | \bperdozav | \bapsinuodij | \bprarijo\s+(tablet|vaist|nuod) | \b(kvieskite|iskvieskite|skambinkite)\s+greit | \breikia\s+greitosios
        | \bmirsta\b | \bsunkiai\s+suzeist
        | \bkraujavimas | \bkraujuoja\b | \bspringsta | \bmane\s+musa | \blauziasi | \bsu\s+peiliu | \bpilnas\s+dumu
        | \b(auto)?avarij\w*\b.*\b(suzeist|istrig|kraujuoja|be\s+samones) | \byra\s+suzeistu | \bisgere\s+(valymo|baliklio|nuod|chemik)
        | \bmusa\s+(zmona|vyra|vaika) | \bmane\s+puola | \bsusitrenke\s+galva | \bnegaliu\s+kvepuoti | \bduju\s+kvap | \bper\s+leda | \bsukniub | \b(patekau\s+i\s+)?avarija\s+ka\s+daryti | \bnuoding\w*\s+(grib|uog) | \bliepsn\w* | \bdega\s*!
    """,
    "lv": r"""
        \bneelpo | \bparstaj\w*\s+elpot | \bnevar\s+elpot | \bbezsamana | \bzaudej\w*\s+samanu | \bnogiba | \bnepamostas | \bnereage
        | \b(stipri|loti)\s+asino | \bdaudz\s+asin | \basinosana\s+neapstajas | \basinis\s+neapstajas | \binfarkt | \binsult | \bsap\s+kruti
        | \baizrij | \bnosmak | \bsit\s+(mani|mus|bernus) | \bpiekava | \bdraud\s+(mani|mums|nogalinat|nonavet) | \bnogalinas\s+(mani|mus)
        | \bir\s+nazis | \bielauz | \bugunsgreks\b | \bdeg\s+(maja|dzivoklis|virtuve|masina) | \baizdeg | \bdumi\s+(visur|dzivokli|maja)
        | \bparmerig | \bsaindej | \bnorij\w*\s+(tablet|zales|indi) | \b(izsauciet|izsauc|zvaniet|vajag)\s+atr\w*\s*(palidzib|!) | \bmirst\b
        | \bsmagi\s+ievainot
        | \basinosana | \basino\b | \bmani\s+sit | \blauzas | \bar\s+nazi | \bpilna\s+ar\s+dumiem
        | \b(auto)?avarij\w*\b.*\b(cietusie|iesprud|asino|bezsamana) | \bir\s+cietusie | \bizdzer\w*\s+(tirisanas|balinat|ind|kimik)
        | \bsit\s+(sievu|viru|bernu) | \bman\s+uzbruk | \bsasit\w*\s+galvu | \bindig\w*\s+(senes|ogas|vielu) | \bnevar\s+(pa)?elpot | \boz\s+pec\s+gazes | \bgazes\s+smaka | \bieluz\w*\s+ledu | \bsabruk | \bautoavarij | \bizsauc\w*\s+atr | \bliesm\w* | \bdeg\s*!
    """,
}

_CRISIS = {
    "en": r"""\b(kill|hurt|harm|cut)\s+myself | \bsuicid | \bend\s+(my\s+life|it\s+all) | \btake\s+my\s+(own\s+)?life
              | \b(don'?t|do\s+not)\s+want\s+to\s+(live|be\s+alive|exist) | \bwant\s+to\s+die | \bno\s+reason\s+to\s+live | \bbetter\s+off\s+dead | \bpoint\s+(in|of)\s+living
              | \bself[-\s]?harm | \bno\s+point\s+in\s+living | \bbetter\s+off\s+without\s+me | \bgoing\s+to\s+take\s+them\s+all | \bcan'?t\s+go\s+on\b
              | \bwant\s+it\s+(all\s+)?to\s+end | \bjump(ing)?\s+off\s+(the|a)\s+(bridge|roof|building) | \bif\s+i\s+died""",
    "sv": r"""\bta\s+mitt\s+(eget\s+)?liv | \bta\s+livet\s+av\s+mig | \bsjalvmord | \bvill\s+do\b | \bvill\s+inte\s+leva | \bskada\s+mig\s+sjalv
              | \borkar\s+inte\s+leva | \bingen\s+mening\s+med\s+att\s+leva | \bskurit\s+mig | \bbattre\s+utan\s+mig | \btanker\s+ta\s+alla | \ballt\s+ska\s+ta\s+slut
              | \bta\s+livet\s+av | \btar\s+man\s+livet | \bhoppa\s+(fran|ut\s+fran)\s+(bron|taket) | \bom\s+jag\s+dog""",
    "pl": r"""\bsamoboj | \bzabic\s+sie | \bzabije\s+sie | \bodebrac\s+sobie\s+zycie | \bnie\s+chce\s+(juz\s+)?zyc | \bchce\s+umrzec
              | \bskrzywdzic\s+sie | \bsamookalecz | \bskonczyc\s+ze\s+soba | \bchce\s+sie\s+zabic | \bodbiore\s+sobie\s+zycie | \bsensu\s+zycia | \bsensu\s+zyc | \bpocie\w*\s*$ | \bsie\s+pocie | \bzrobic\s+sobie\s+krzywde
              | \blepiej\s+beze\s+mnie | \bwezme\s+wszystkie | \bzeby\s+to\s+sie\s+skonczylo | \bze\s+soba\s+skonczyc | \bskoczyc\s+z\s+(mostu|dachu)
              | \bczy\s+umre""",
    "lt": r"""\bnusizud | \bsavizud | \bnenoriu\s+(daugiau\s+)?gyventi | \bnoriu\s+mirti | \batimti\s+sau\s+gyvyb | \bsusizaloti | \batimsiu\s+sau\s+gyvyb | \bprasmes\s+gyventi | \bsusipjausc | \bsau\s+pakenkti | \bgeriau\s+be\s+manes | \bisgersiu\s+visas
              | \bviskas\s+baigtusi | \bnusokti\s+nuo | \bjei\s+numirciau""",
    "lv": r"""\bpasnavib | \bnogalinat\s+sevi | \bnonavet\s+sevi | \bnegribu\s+(vairs\s+)?dzivot | \bgribu\s+nomirt | \batnemt\s+sev\s+dzivib
              | \bsavainot\s+sevi | \bsevi\s+nogalinat | \batnemsu\s+sev | \bjegu\s+dzivot | \bsagriezu\s+sevi | \bnodarit\s+pari | \blabak\s+bez\s+manis
              | \bvisas\s+iedzersu | \bpasnavniec | \blai\s+viss\s+beidzas | \bnolekt\s+no | \bja\s+es\s+nomirtu""",
}


def _compile(table: dict[str, str]) -> re.Pattern:
    # every language's patterns apply to every message: a Polish mover in panic may type in English
    return re.compile("|".join(f"(?:{p})" for p in table.values()), re.VERBOSE)


EMERGENCY_PATTERN = _compile(_EMERGENCY)
CRISIS_PATTERN = _compile(_CRISIS)


def assess(text: str, probability: dict[str, float] | None = None) -> str | None:
    """CRISIS, EMERGENCY or None. `probability` maps emergency / crisis to the classifier's
    probability for the message (Ranking.danger)."""
    folded = " ".join(fold(text).replace("’", "'").split())
    if CRISIS_PATTERN.search(folded):
        return CRISIS
    if EMERGENCY_PATTERN.search(folded):
        return EMERGENCY
    if probability and len(text.split()) >= MIN_WORDS:
        kind = max((CRISIS, EMERGENCY), key=lambda k: probability.get(k, 0.0))
        if probability.get(kind, 0.0) >= CLASSIFIER_MIN:
            return kind
    return None
