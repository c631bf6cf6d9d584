"""The category rules' vocabulary: word classes ("features") and the phrases that clear them.

Each entry is a word or a phrase of up to six words, written in plain lowercase; the scanner
(``categories``) reads prompt words through the same normalisation (Unicode folding, look-alikes,
leetspeak, spacing, stretched letters) and takes a word's regular inflections (s, es, ed, ing,
er, ers) back to an entry. A phrase also matches with its words run together ("childporn",
"#killyourself").

A feature alone decides nothing but for a few unambiguous phrases (``*_direct``); the rules in
``categories`` combine them: an age or school marker with a sexual term, a synthesis verb with a
dangerous agent, a first-person intent with a harm verb and a target. ``MASKS`` are ordinary
phrases whose words take no part in any rule where they stand ("murder mystery", "kill the
process", "bath bomb"); ``*_context`` features keep a category's weaker signals quiet in a prompt
that is plainly about prevention, history, security work or props.
"""

from __future__ import annotations

_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen"
).split()
_AGE_UNITS = ("year old", "years old", "yr old", "yrs old", "yo", "y o", "year olds", "month old", "months old")


def _ages() -> tuple[str, ...]:
    """Ages under 18 as a prompt writes them: "12 year old", "twelve-year-old", "12yo", "aged 12"."""
    phrases: list[str] = []
    for number in [str(n) for n in range(1, 18)] + _NUMBER_WORDS:
        phrases.extend(f"{number} {unit}" for unit in _AGE_UNITS)
        phrases.extend((f"aged {number}", f"age {number}", f"{number} years of age", f"she is {number}", f"he is {number}"))
    for grade in ("1st", "2nd", "3rd", *(f"{n}th" for n in range(4, 13)), "first", "second", "third", "fourth",
                  "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth"):  # fmt: skip
        phrases.extend((f"{grade} grader", f"{grade} grade"))
    return tuple(phrases)


FEATURES: dict[str, tuple[str, ...]] = {
    # ---------------------------------------------------------------- sexual content
    "minor": (
        "child", "children", "kid", "kids", "minor", "minors", "underage", "under age", "preteen", "pre teen",
        "teen", "teens", "teenage", "teenager", "teenagers", "tween", "schoolgirl", "schoolboy", "school girl",
        "school boy", "loli", "lolis", "lolita", "shota", "toddler", "toddlers", "infant", "baby", "babies",
        "little girl", "little girls", "little boy", "little boys", "young girl", "young girls", "young boy",
        "young boys", "middle schooler", "middle schoolers", "high schooler", "high schoolers", "grade schooler",
        "elementary schooler", "pubescent", "prepubescent", "jailbait", "juvenile", "daughter", "stepdaughter",
        "son", "niece", "nephew", "girl scout", "boy scout", "kindergartener", "pupil", "student", "students",
        "young teen", "young teens", "barely legal", "child's", "childs", "kiddie", "kiddo", "youngster",
        *_ages(),
    ),
    "sexual_strong": (
        "porn", "porno", "pornography", "pornographic", "xxx", "sex", "sexual", "sexually", "intercourse",
        "genitals", "genital", "genitalia", "penis", "vagina", "vulva", "erection", "orgasm", "masturbate",
        "masturbating", "masturbation", "blowjob", "blow job", "handjob", "fellatio", "cunnilingus", "oral sex",
        "anal sex", "hentai", "nsfw", "erotic", "erotica", "orgy", "threesome", "gangbang", "gang bang",
        "creampie", "cumshot", "cum shot", "cum", "milf", "bdsm", "bondage", "fucking", "fuck", "fucked", "rape",
        "raped", "raping", "bestiality", "zoophilia", "nipples", "nipple", "explicit nudity", "full frontal",
        "sex scene", "sex tape", "sex story", "horny", "onlyfans", "uncensored", "spreading her legs",
        "spread her legs", "legs open", "legs spread", "having sex", "sexual position", "sex position",
        "molest", "molested", "molesting", "molestation", "incest",
        "deepthroat", "boobs", "tits", "pussy", "dick", "cock", "naked breasts", "bare breasts", "sexualized", "sexualised", "sexualize", "sexualise", "sexualizing",
        "showing her breasts", "lifting her skirt", "upskirt", "stripper", "striptease",
    ),
    "sexual_weak": (
        "nude", "nudes", "naked", "nudity", "topless", "bottomless", "undressed", "undressing", "unclothed",
        "no clothes", "without clothes", "clothes off", "in the nude", "explicit", "lewd", "pornstar",
    ),
    "suggestive": (
        "sexy", "seductive", "seductively", "provocative", "provocatively", "sensual", "suggestive", "lingerie",
        "panties", "thong", "kinky", "fetish", "slutty", "hot body", "spreading", "sultry", "bedroom eyes",
        "in her underwear", "in his underwear", "in underwear", "posing on a bed", "aroused", "arousing",
    ),
    "sexual_abbrev": ("cp", "c p", "pthc", "pedophile", "paedophile", "pedo", "paedo", "pedophiles"),
    "sexual_minors_direct": (
        "child porn", "child pornography", "kiddie porn", "csam", "lolicon", "shotacon", "jailbait",
        "child sexual abuse", "sexual content involving minors", "underage nude", "underage porn",
        "underage sex", "preteen porn", "teen porn", "pedo porn",
    ),
    "undress": (
        "undress", "undress her", "undress him", "nudify", "remove the clothes", "remove her clothes",
        "remove his clothes", "take off her clothes", "without her clothes", "see through her clothes",
        "x ray her clothes",
    ),
    "art_context": (
        "life drawing", "life class", "figure drawing", "classical painting", "renaissance", "statue",
        "sculpture", "museum", "marble", "venus", "anatomy textbook", "anatomy", "charcoal sketch",
        "medical", "breastfeeding", "movie poster", "film poster", "tv show", "logo", "album cover", "book cover",
    ),
    # ---------------------------------------------------------------- real people
    "real_person": (
        "celebrity", "celebrities", "famous", "politician", "politicians", "president", "prime minister",
        "senator", "congressman", "congresswoman", "governor", "mayor", "pope", "king charles", "the queen",
        "actress", "singer", "influencer", "streamer", "youtuber", "tiktoker", "news anchor", "ceo",
        "my coworker", "my co worker", "my colleague", "my classmate", "my classmates", "my teacher", "my boss",
        "my ex", "my ex girlfriend", "my ex wife", "my neighbor", "my neighbour", "my sister", "my friend",
        "my girlfriend", "my crush", "this girl", "this woman", "this photo of", "her instagram", "instagram",
        "real person", "real people",
        # well-known names, written the way prompts write them
        "taylor swift", "swift", "emma watson", "scarlett johansson", "johansson", "billie eilish", "selena gomez",
        "ariana grande", "kim kardashian", "kardashian", "kardashians", "margot robbie", "zendaya", "beyonce",
        "rihanna", "jennifer lawrence", "jennifer aniston", "angelina jolie", "gal gadot", "emma stone",
        "natalie portman", "megan fox", "sydney sweeney", "dua lipa", "miley cyrus", "shakira", "lady gaga",
        "katy perry", "nicki minaj", "cardi b", "olivia rodrigo", "sabrina carpenter", "jenna ortega",
        "millie bobby brown", "emma roberts", "anne hathaway", "kate middleton", "meghan markle", "pokimane",
        "amouranth", "elon musk", "musk", "jeff bezos", "bezos", "mark zuckerberg", "zuckerberg", "bill gates",
        "joe biden", "biden", "donald trump", "trump", "barack obama", "obama", "michelle obama", "kamala harris",
        "harris", "hillary clinton", "clinton", "vladimir putin", "putin", "zelensky", "zelenskyy",
        "emmanuel macron", "macron", "rishi sunak", "sunak", "keir starmer", "starmer", "boris johnson",
        "justin trudeau", "trudeau", "narendra modi", "modi", "xi jinping", "angela merkel", "merkel",
        "olaf scholz", "giorgia meloni", "meloni", "aoc", "alexandria ocasio cortez", "nancy pelosi", "pelosi",
        "jd vance", "vance", "ron desantis", "desantis", "greta thunberg", "tom cruise", "brad pitt",
        "leonardo dicaprio", "dwayne johnson", "the rock", "keanu reeves", "timothee chalamet", "harry styles",
        "justin bieber", "drake", "kanye west", "kanye", "travis kelce", "lebron james", "cristiano ronaldo",
        "messi", "lionel messi", "oprah", "ellen degeneres", "mrbeast", "king charles", "prince harry",
    ),
    "deepfake": (
        "deepfake", "deepfakes", "deep fake", "deep fakes", "nudify", "undress app",
    ),
    "fake_media": (
        "fake photo", "fake image", "fake picture", "fake video", "fake footage", "fake screenshot",
        "fake news photo", "fabricated photo", "fabricated image", "fabricated video", "doctored photo",
        "doctored image", "photoshopped", "photorealistic fake", "realistic fake", "real news photo",
        "realistic news photo", "look like a real photo", "make it look like", "make it look real",
        "fake footage", "fake tweet", "fake quote", "face swap", "faceswap", "swap the face", "swap her face",
    ),
    "compromising": (
        "arrested", "being arrested", "handcuffed", "in prison", "behind bars", "in jail", "prison clothes",
        "taking a bribe", "bribe", "drunk", "drunk driving", "taking drugs", "doing drugs", "collapsing",
        "dead", "punched", "mugshot", "with hitler", "getting arrested", "in handcuffs", "naked", "nude",
        "doing cocaine", "snorting", "in a mugshot", "on trial", "being shot", "assassinated",
    ),
    "depiction": (
        "photo", "photograph", "picture", "image", "video", "footage", "realistic", "photorealistic",
        "hyperrealistic", "screenshot", "news photo", "press photo", "cctv", "selfie",
    ),
    # ---------------------------------------------------------------- violence and threats
    "violent_act": (
        "kill", "killed", "killing", "murder", "murdered", "murdering", "stab", "stabbed", "stabbing",
        "behead", "beheading", "beheaded", "decapitate", "execute", "executing", "execution", "torture",
        "tortured", "torturing", "strangle", "strangling", "strangled", "slit", "slitting", "slaughter",
        "massacre", "lynch", "lynching", "crucify", "crucified", "beat to death", "beating", "bludgeon",
        "shot in the head", "shooting", "smashed in", "burned alive", "burning alive", "eating human",
        "cannibal", "rape", "hanging", "throat cut", "cut throat", "throat being cut", "slit throat", "shot in the face",
        "being shot", "shot dead", "gunshot", "gunshot wound", "beaten", "beaten bloody", "beaten to death",
        "gouged out", "head exploding", "exploding head", "blowtorch", "burned", "drowning", "choking",
    ),
    "gore": (
        "gore", "gory", "decapitated", "disembowel", "disembowelled", "disemboweled", "dismember",
        "dismembered", "dismemberment", "mutilated", "mutilation", "entrails", "guts spilling", "eviscerated",
        "severed head", "severed limbs", "severed", "body parts", "skinned alive", "burned alive",
        "brains splattered", "blood spraying", "blood splatter", "pools of blood", "pool of blood",
        "blood everywhere", "bodies everywhere", "mangled body", "mangled bodies", "bloody corpse",
        "human flesh", "torn apart", "hanging body", "dead students", "dead bodies", "corpse", "corpses",
        "gruesome", "massacre of", "mass shooting", "mass shootings", "school shooting", "shooting spree",
        "killing spree", "terrorist attack", "assassination plan", "execution video", "bodies on the floor",
        "suicide bomber", "suicide bombing", "beheaded", "beheading video", "blood gushing", "gushing blood",
        "blood pouring", "covered in blood", "soaked in blood", "blood soaked", "bleeding out", "bleeding to death",
        "eyes gouged out", "head exploding", "guts", "intestines", "brain matter",
    ),
    "props_context": (
        "halloween", "makeup", "make up", "costume", "costumes", "prop", "props", "sfx", "special effects",
        "cosplay", "fake blood", "haunted house", "escape room", "museum", "exhibit", "wax", "toy", "toys",
        "lego", "plush", "board game", "video game", "murder mystery", "novel", "book cover",
    ),
    "graphic": (
        "graphic", "gory", "gruesome", "bloody", "blood", "realistic", "photorealistic", "hyperrealistic",
        "hyper realistic", "close up", "closeup", "detailed", "hyper detailed", "cinematic", "screaming",
    ),
    "victim": (
        "man", "men", "woman", "women", "person", "people", "child", "children", "kid", "kids", "baby", "wife",
        "husband", "girl", "boy", "victim", "victims", "someone", "somebody", "family", "civilian",
        "civilians", "prisoner", "hostage", "hostages", "student", "students", "villagers", "homeless",
        "mother", "father", "teenager", "neighbor", "neighbour", "dog", "cat", "puppy", "animal", "crowd",
        "human", "humans", "body", "girlfriend", "boyfriend", "worker", "police officer", "protesters",
        "face", "chest", "throat", "him", "her", "them", "them all", "teacher", "cop", "cops", "guard",
        "president", "witness", "sister", "brother", "tourist", "journalist", "hostage", "classmates",
        "coworker", "boss", "ex", "wife", "mom", "dad", "school", "mosque", "church", "synagogue", "mall",
        "students", "bodies",
    ),
    "intent": (
        "i will", "i ll", "ill", "i m going to", "im going to", "i am going to", "i m gonna", "im gonna",
        "i am gonna", "gonna", "i want to", "i wanna", "i plan to", "i m planning to", "im planning to",
        "i am planning to", "i intend to", "we will", "we ll", "we re going to", "we are going to",
        "we re gonna", "i swear i", "i shall", "i need to", "i m about to", "im about to", "tomorrow i",
        "i m bringing", "im bringing", "i ll bring", "i will bring", "i am bringing", "ima", "imma",
        "planning to", "plan a", "plan an", "plan to", "help me plan",
    ),
    # Harm verbs that threaten whoever or whatever follows them ...
    "harm_strong": (
        "kill", "murder", "stab", "shoot up", "gun down", "open fire on", "bomb", "blow up", "burn down",
        "set fire", "set fire to", "torch", "attack", "poison", "strangle", "slit", "run over", "hurt", "massacre",
        "behead", "slaughter", "butcher", "hunt down", "rape", "kidnap", "bring a gun", "bring my gun",
        "bring my dad s gun", "bring a knife", "put a bullet in", "put a bullet", "burn your house",
        "burn his house", "burn her house", "burn him", "burn her", "burn them", "burn you", "break his legs",
        "break her legs", "punch him", "punch her", "punch you", "throw acid", "acid attack", "beat to death",
        "beat him to death", "beat her to death", "beat up", "shoot at",
    ),
    # ... "shoot", unless a camera or a ball is about ...
    "harm_shoot": ("shoot", "shooting"),
    # ... and verbs that threaten only beside a weapon or a death ("beat my wife to death", not
    # "beat my brother at mario kart").
    "harm_weak": ("beat", "execute", "choke", "hit", "take out", "finish off", "deal with", "get rid of"),
    "violent_marker": (
        "to death", "dead", "die", "bleed", "bleeding", "gun", "knife", "rifle", "pistol", "bat", "hammer", "axe",
        "machete", "blood", "bloody", "senseless", "unconscious", "until he", "until she", "with a", "bullet",
    ),
    "target": (
        "boss", "teacher", "teachers", "wife", "husband", "ex", "girlfriend", "boyfriend", "mom", "mum", "dad",
        "mother", "father", "sister", "brother", "roommate", "landlord", "neighbor", "neighbour", "neighbors",
        "coworker", "co worker", "coworkers", "colleague", "classmates", "classmate", "students", "everyone",
        "everybody", "them", "him", "her", "you", "people", "cops", "police", "president", "protesters",
        "family", "kids", "children", "all", "them all", "school", "mall", "church", "mosque", "synagogue",
        "temple", "office", "workplace", "campus", "class", "concert", "stadium", "parade", "station",
        "hospital", "store", "supermarket", "building", "club", "bar", "airport", "house", "home", "congress",
        "senator", "mayor", "judge", "doctor", "principal", "manager", "partner", "jews", "muslims",
        "christians", "immigrants", "gays",
    ),
    "threat_direct": (
        "i know where you live", "you will die", "you re dead", "you are dead", "i m coming for you",
        "im coming for you", "i am coming for you", "coming to your house", "i will find you",
        "watch your back", "you won t live", "i ll kill you", "i will kill you", "going to kill you",
        "next school shooter", "school shooter",
    ),
    "photo_context": (
        "photo", "photos", "photograph", "photography", "photographer", "portrait", "portraits", "scene",
        "film", "video", "footage", "camera", "photoshoot", "photo shoot", "headshots", "wedding",
        "lens", "golden hour", "studio", "movie", "episode", "commercial", "model", "models", "basketball",
        "hoops", "three pointer", "espresso", "short film", "music video", "documentary", "goal", "penalty",
        "ball", "pool", "darts", "photos of", "pictures", "engagement", "prom", "graduation", "campaign", "ad",
    ),
    # ---------------------------------------------------------------- weapons and drugs
    "produce": (
        "make", "making", "build", "building", "synthesize", "synthesise", "synthesis", "synthesizing",
        "synthesising", "produce", "producing", "production", "manufacture", "manufacturing", "cook",
        "cook up", "brew", "create", "assemble", "craft", "3d print", "3d printed", "print", "weaponize",
        "weaponise", "culture", "extract", "extracting", "refine", "enrich", "convert", "press", "lace",
        "homemade", "home made", "diy", "recipe", "recipes", "formula", "instructions", "step by step",
        "blueprint", "guide to making", "how to make", "how do i make", "how to build", "how to get",
        "synthesise", "home lab", "garage lab", "grow", "diagram", "schematic", "schematics", "blueprints",
    ),
    "acquire": (
        "buy", "order", "purchase", "obtain", "acquire", "get", "where to buy", "where can i buy",
        "dark web", "darknet", "smuggle", "smuggling", "sell", "selling", "deal", "for sale",
    ),
    "howto": (
        "how to", "how do i", "how do you", "how can i", "how would i", "how should i", "tell me how",
        "show me how", "steps to", "step by step", "instructions", "tutorial", "guide", "recipe", "method",
        "methods", "ways to", "way to", "best way", "easiest way", "tips", "tips to", "explain how to",
        "how many", "how much", "how deep", "how long", "painless", "painlessly", "quickest", "fastest",
        "easiest", "best", "encourage", "convince", "convincing", "tell me",
    ),
    "weapon_agent": (
        "napalm", "pipe bomb", "pipe bombs", "ied", "ieds", "grenade", "grenades", "molotov",
        "molotov cocktail", "thermite", "c4", "c 4", "semtex", "tatp", "anfo", "detonator", "nitroglycerin",
        "explosive", "explosives", "ricin", "sarin", "vx", "vx nerve gas", "tabun", "soman", "novichok",
        "nerve agent", "nerve gas", "mustard gas", "chlorine gas", "poison gas", "toxic gas", "phosgene",
        "anthrax", "anthrax spores", "botulinum", "botulinum toxin", "smallpox", "bioweapon", "bioweapons",
        "biological weapon", "chemical weapon", "chemical weapons", "dirty bomb", "nuclear bomb",
        "nuclear weapon", "nuclear device", "atomic bomb", "radiological weapon", "nuke", "enriched uranium", "weapons grade", "plutonium",
        "ghost gun", "untraceable gun", "undetectable gun", "full auto", "auto sear", "bump stock",
        "silencer", "suppressor", "cyanide", "flamethrower", "flame thrower", "zip gun", "bomb", "bombs", "car bomb", "suicide vest", "napalm",
        "gun", "guns", "firearm", "rifle", "pistol",
    ),
    "weapon_weak": ("bomb", "bombs", "gun", "guns", "firearm", "rifle", "pistol", "explosive", "explosives"),
    "drug": (
        "meth", "methamphetamine", "crystal meth", "crystal", "fentanyl", "carfentanil", "heroin", "cocaine",
        "crack cocaine", "crack rock", "smoke crack", "lsd", "mdma", "ecstasy pills", "ecstasy", "molly", "ghb", "dmt", "pcp",
        "ketamine", "amphetamine", "amphetamines", "opium", "shake and bake", "p2p", "pseudoephedrine",
        "red phosphorus", "oxycodone", "morphine", "mescaline", "bath salts", "drugs", "crank",
    ),
    # ---------------------------------------------------------------- self-harm
    "self_harm_encourage": (
        "kys", "k y s", "kill yourself", "kill urself", "kill your self", "killed yourself", "kill ur self", "killing yourself",
        "go die", "go and die", "hang yourself", "slit your wrists", "slit your wrist", "drink bleach",
        "jump off a bridge", "end your life", "end your own life", "you should die",
        "nobody would miss you", "better off dead", "better off if you killed", "off yourself", "unalive yourself", "neck yourself",
        "starve yourself", "go die in a hole",
    ),
    "self_harm_self": (
        "kill myself", "killing myself", "hang myself", "hanging myself", "end my life", "ending my life",
        "end it all", "slit my wrists", "cut my wrist", "cut my wrists", "cut myself", "cutting myself",
        "starve myself", "unalive myself", "hurt myself", "suicide methods", "suicide method",
        "methods of suicide", "pro ana", "pro mia", "suicide note", "only way out", "thinspiration", "thinspo",
    ),
    "glorify": (
        "aesthetic", "scars", "cutting", "pics", "photos", "inspiration", "romanticize", "romanticise",
        "beautiful", "tonight", "glamorous",
    ),
    "self_harm_topic": (
        "commit suicide", "die by suicide", "ways to die", "way to die", "want to die", "overdose",
        "self harm", "self harming", "selfharm", "suicide", "kill himself", "kill herself", "die",
    ),
    "prevention_context": (
        "prevention", "prevent", "awareness", "hotline", "helpline", "crisis line", "support", "support group",
        "recovery", "survivor", "survivors", "mental health", "leaflet", "campaign", "counselor", "counselling",
        "counseling", "therapist", "help someone", "warning signs", "anti", "stop", "deal with", "advice",
        "resources", "memorial", "research", "statistics",
    ),
    # ---------------------------------------------------------------- hate and harassment
    "slur": (
        "nigger", "niggers", "nigga", "niggas", "kike", "kikes", "faggot", "faggots", "fag", "fags", "spic",
        "spics", "chink", "chinks", "wetback", "wetbacks", "tranny", "trannies", "raghead", "ragheads",
        "towelhead", "towelheads", "gook", "gooks", "paki", "pakis", "beaner", "beaners", "sandnigger",
        "camel jockey", "porch monkey", "jungle bunny", "mudslime", "zipperhead", "kaffir",
    ),
    "group": (
        "jews", "jew", "jewish people", "muslims", "muslim", "christians", "christian", "catholics", "hindus",
        "sikhs", "buddhists", "blacks", "black people", "whites", "white people", "asians", "asian people",
        "mexicans", "immigrants", "migrants", "refugees", "gays", "gay people", "lesbians", "homosexuals",
        "trans people", "transgender people", "transgender", "arabs", "africans", "indians", "chinese",
        "chinese people", "roma", "gypsies", "latinos", "hispanics", "women", "men", "the disabled",
        "disabled people", "foreigners", "palestinians", "israelis", "ukrainians", "russians", "kurds",
        "infidels", "the poor", "homeless people",
    ),
    "dehumanize": (
        "vermin", "rats", "cockroaches", "animals", "subhuman", "sub human", "parasites", "parasite",
        "a disease", "disease", "filth", "filthy", "dogs", "apes", "monkeys", "savages", "plague", "not human",
        "slaves", "inferior", "scum", "pests", "a cancer", "cancer", "filthy animals", "dirty",
    ),
    "eliminate": (
        "exterminate", "extermination", "exterminated", "eradicate", "eradicated", "wipe out", "kill all",
        "gas", "gas the", "eliminate", "cleanse", "purge", "get rid of", "drive them out", "drive out",
        "death to", "hang all", "don t deserve to live", "do not deserve to live", "should die", "must die",
        "genocide", "ethnic cleansing", "final solution", "go back to your country", "deport all",
        "should be slaves", "must be eradicated", "should be exterminated", "burn all", "shoot all",
        "kill the", "kill every", "murder all", "massacre the", "kill them all", "should be shot",
        "should be killed", "should be hanged", "should be gassed", "deserve to die", "deserves to die",
        "should be deported", "need to be eliminated", "should be burned", "should be lynched", "go back to",
    ),
    "hate_direct": (
        "heil hitler", "sieg heil", "white power", "race war", "racial holy war", "rahowa", "14 words",
        "fourteen words", "holocaust never happened", "holocaust was a hoax", "holocaust is a lie",
        "join the jihad", "isis recruitment", "gas the jews", "kill all jews", "white genocide",
        "great replacement", "jews control", "jews are parasites", "final solution", "ethnic cleansing",
    ),
    "history_context": (
        "history", "historical", "documentary", "museum", "memorial", "lesson", "textbook", "timeline",
        "exhibit", "exhibition", "education", "educational", "remembrance", "anti racism", "anti racist",
        "civil rights", "archive", "propaganda posters on display", "news report", "vigil", "candlelight",
        "mourning", "tribute", "in memory",
    ),
    "harass_verb": (
        "harass", "harassing", "bully", "bullying", "cyberbully", "cyberbullying", "stalk", "stalking",
        "humiliate", "humiliating", "humiliates", "mock", "mocking", "mocks", "shame", "shaming", "insult",
        "insults", "ridicule", "make fun of", "spread rumors", "spread rumours", "spread lies", "ruin",
        "leak", "leaking", "track", "tracking", "flood", "threatening messages", "hateful message",
        "nasty comment", "mean song", "mean comments", "troll", "trolling", "expose", "publicly shame",
        "compile personal info", "personal info about", "show up at", "find out where", "find the address of",
        "find the home address", "find where", "scare", "intimidate", "threaten", "anonymous letter",
        "anonymous message", "personal details", "personal information", "private information", "real name",
        "where she lives", "where he lives", "hate page", "hate account", "burn book", "messages a day",
        "until she answers", "until he answers", "spam her", "spam him", "bombard",
    ),
    "harass_direct": (
        "dox", "doxx", "doxxing", "doxing", "doxed", "doxxed", "home address", "her address", "his address",
        "phone number and address", "you are worthless", "you re worthless", "nobody will ever love you",
        "nobody loves you", "everyone hates you", "everyone hates her", "everyone hates him",
        "worthless loser", "fat and ugly", "ugly fat", "slut", "whore", "without her knowing",
        "without his knowing", "without her consent", "without his consent", "kill yourself loser",
    ),
    "person_target": (
        "my ex", "ex", "classmate", "classmates", "coworker", "co worker", "colleague", "her", "him", "this kid",
        "kid", "sister", "brother", "teacher", "neighbor", "neighbour", "employee", "streamer", "journalist",
        "user", "person", "girl", "boy", "girlfriend", "boyfriend", "wife", "husband", "partner", "she", "he",
        "them", "sarah", "mike", "twitter user", "that guy", "that girl", "student", "reputation",
    ),
    # ---------------------------------------------------------------- malware and fraud
    "create": (
        "write", "writes", "writing", "code", "coding", "create", "creating", "make", "making", "build",
        "building", "develop", "developing", "generate", "generating", "program", "design", "craft", "deploy",
        "spread", "spreads", "infect", "script", "set up", "builder", "kit", "tutorial", "how to",
        "send", "compose",
    ),
    "steal": (
        "steal", "stealing", "stole", "grab", "grabs", "harvest", "harvesting", "phish", "clone", "cloning",
        "skim", "skimming", "skimmer", "sniff", "dump", "exfiltrate", "hijack", "hijacking", "capture", "crack",
    ),
    "credential": (
        "password", "passwords", "login", "logins", "credentials", "credential", "cookies", "session cookies",
        "tokens", "2fa codes", "otp", "credit card", "credit cards", "card numbers", "bank details",
        "bank account", "accounts", "seed phrase", "wallet", "pin",
    ),
    "malware": (
        "ransomware", "keylogger", "keyloggers", "trojan", "rootkit", "botnet", "spyware", "stalkerware",
        "malware", "infostealer", "info stealer", "credential stealer", "password stealer", "token stealer",
        "crypter", "fud crypter", "remote access trojan", "computer virus", "worm that spreads", "exploit kit",
        "ddos", "ddos attack", "ddos attacks", "rat", "backdoor", "virus", "viruses", "logic bomb", "cryptojacker", "miner malware",
    ),
    "fraud": (
        "phishing", "phishing page", "phishing email", "phishing site", "phishing kit", "phishing link",
        "fake login", "fake login page", "scam", "scam text", "scam message", "scam email", "scam script",
        "romance scam", "tech support scam", "gift card scam", "fake invoice", "counterfeit money",
        "counterfeit", "impersonating", "impersonate", "pretending to be from", "pretending to be",
        "wire transfer", "trick", "fake microsoft", "fake bank",
    ),
    "fraud_direct": (
        "carding", "cc dumps", "fullz", "steal passwords", "steal saved passwords", "steal credentials",
        "steal login credentials", "steal credit card", "steal credit card numbers", "harvest passwords",
        "harvest credentials", "credit card numbers with cvv", "valid credit card numbers", "bypass antivirus",
        "fud", "sim swap", "launder money", "money laundering scheme", "hack into", "hack someone s",
        "brute force", "discord tokens", "grabs passwords", "keystrokes", "encrypts all files",
        "crack the password", "crack password", "wifi password", "take over someone s", "bank account takeover",
        "read my wife s texts", "read her texts", "pass the pen test", "phishing page", "phishing email",
        "fake login page", "to scam people", "scam people", "get money from",
    ),
    "defense_context": (
        "detect", "detection", "detecting", "spot", "recognize", "recognise", "avoid", "prevent", "prevention",
        "protect", "protection", "defend", "awareness", "training", "remove", "removal", "incident response",
        "analysis", "warning", "explained", "explain", "explainer", "notice", "policy", "tips", "report",
        "hit by", "course", "class", "certificate", "audit", "checklist", "research", "how does", "how do",
        "infographic", "it staff", "it team", "staff", "employees", "lecture", "presentation", "slide",
    ),
}  # fmt: skip

# Ordinary phrases: their words take no part in any rule where the phrase stands.
MASKS: tuple[str, ...] = (
    # kill, murder, death
    "kill the process", "kill a process", "kill process", "kill the zombie process", "kill a zombie process",
    "kill the task", "kill the server", "kill the job", "kill the app", "kill the lights", "kill the engine",
    "kill the music", "kill time", "time to kill", "kill two birds", "killing it", "kill it", "killed it",
    "kills it", "killer whale", "killer whales", "kill bill", "the killers", "serial killer documentary",
    "killing me softly", "to kill a mockingbird", "is killing me", "are killing me", "going to kill me",
    "gonna kill me", "kill the weeds", "kill weeds", "weed killer", "kill the vibe", "kill the mood",
    "kill switch", "kill streak", "kill count", "murder mystery", "murder mysteries", "murder of crows",
    "murder on the orient express", "murder she wrote", "could murder a", "murder a pizza", "murder hornet",
    "murder hornets", "texas chainsaw massacre", "boston massacre", "torture museum", "torture test",
    "dying of laughter", "dying my hair", "dying to", "battery is dying", "die cast", "day of the dead",
    "dead sea", "death valley", "dead man s hand", "walking dead", "the daleks", "dressed to kill",
    "suicide squad", "suicide squeeze", "suicide door", "suicide doors", "suicide king", "suicide kings",
    "virgin suicides", "suicide burn", "suicide sprint", "suicide sprints", "suicide blonde", "suicide lane",
    "oilseed rape", "oil seed rape", "rape seed", "rapeseed", "gory details", "kill la kill", "killer workout",
    "killer riff", "killer instinct", "is killer", "kill feed", "its kill", "killed the cat", "bomb shelter",
    "kill the justice league", "killer heels", "killer smile", "killer view", "killer deal", "killer app",
    "final boss", "boss fight", "boss battle",
    # shoot, bomb, blow
    "shoot the scene", "shoot a scene", "photo shoot", "wedding shoot", "shoot the kids portraits",
    "shoot a video", "shoot the video", "shoot the film", "shooting a model", "shooting a three pointer",
    "shooting star", "shoot for the stars", "shot of espresso", "a shot of", "shot glass", "shot down",
    "shot down the proposal", "bath bomb", "bath bombs", "photo bomb", "photobomb", "bomb pop", "bomb squad",
    "bomber jacket", "bomber plane", "the bomb", "da bomb", "is the bomb", "is bomb", "f bomb", "bombshell",
    "cherry bomb", "seed bomb", "smoke bomb", "glitter bomb", "bomb cyclone", "blow up the balloons",
    "blow up balloons", "blow away the competition", "blow out the candles", "blowing out", "explosive flavor",
    "attack on titan", "attack the king", "attack this problem", "attack the problem", "heart attack",
    "panic attack", "chess player attacking", "shooting hoops", "take a shot",
    # sexual words in ordinary senses
    "sex education", "the sex of", "sex of the", "sex differences", "sex ratio", "sex pistols",
    "sex and the city", "sexual health", "sexual orientation", "sexual harassment", "sexual assault awareness",
    "sexual wellness", "sexual reproduction", "sexual selection", "sexual dimorphism", "the naked gun",
    "naked and afraid", "naked lunch", "the naked and the dead", "die of", "died of", "dies of", "nude lipstick", "nude heels", "nude palette", "nude tones", "nude colour",
    "nude color", "nude shoes", "nude nail", "nude nails", "naked mole rat", "naked eye", "naked cake",
    "naked truth", "the naked chef", "naked flame", "naked wire", "breast cancer", "breast stroke",
    "chicken breast", "strip of film", "comic strip", "strip mall", "sexy red sports car", "sexy car",
    "bloody mary", "blood orange", "blood donation", "blood moon", "blood type", "fake blood",
    # drugs, weapons, hate in ordinary senses
    "crystal clear", "crystal ball", "meth lab cleanup", "called the meth lab", "drug store", "drugstore",
    "war on drugs", "smoke detector", "gunpowder tea", "gun show", "glue gun", "hot glue gun", "nail gun",
    "water gun", "water guns", "nerf gun", "spray gun", "staple gun", "rifle scope", "napalm death",
    "anthrax the band", "rat race", "lab rat", "gym rat", "desert rat", "pack rat", "the rat pack",
    "rats in the sewer", "exterminate the weeds", "pest control exterminator", "gas station", "gas mask",
    "gas prices", "gas stove", "coca cola", "crack the code", "crack an egg", "crack a joke",
    "dark web monitoring",
    # security work
    "kill the process that holds", "capture the flag", "bug bounty", "password policy",
)  # fmt: skip

__all__ = ["FEATURES", "MASKS"]
