"""Hand-written word lists for synthetic post text (no real rows are copied here).

Each category gets its own nouns, adjectives and tag stems so that titles, descriptions and tag lists read like
posts of that category; a few non-English fragments reproduce the multilingual quirks of the real table.
"""

from __future__ import annotations

CATEGORIES = (
    "art", "beauty", "christmas", "diy-and-crafts", "education", "event-planning", "finance", "home-decor",
    "mens-fashion", "quotes", "tattoos", "travel", "vehicles",
)

NOUNS = {
    "art": ["painting", "canvas", "sketch", "watercolor", "portrait", "mural", "illustration", "drawing",
            "abstract art", "print", "acrylic pour", "still life", "gallery wall", "ink drawing"],
    "beauty": ["makeup look", "skincare routine", "eyeliner", "lipstick", "hairstyle", "nail art", "face mask",
               "eyebrows", "curly hair", "serum", "braids", "contour", "manicure", "balayage"],
    "christmas": ["ornament", "christmas tree", "wreath", "stocking", "gift tag", "advent calendar", "garland",
                  "cookie", "nativity", "table setting", "snowman", "mantel", "elf", "centerpiece"],
    "diy-and-crafts": ["craft", "mason jar", "paper flower", "macrame", "wood sign", "pom pom", "felt animal",
                       "candle", "scrapbook", "decoupage", "yarn wreath", "keychain", "slime", "bookmark"],
    "education": ["worksheet", "lesson plan", "classroom", "anchor chart", "reading log", "math game",
                  "science experiment", "phonics activity", "study tips", "homeschool", "flash cards",
                  "bulletin board", "writing prompt", "printable"],
    "event-planning": ["wedding", "party", "baby shower", "birthday", "bridal shower", "centerpiece",
                       "reception", "invitation", "photo booth", "buffet", "graduation party", "checklist",
                       "venue", "gender reveal"],
    "finance": ["budget", "savings challenge", "side hustle", "debt payoff", "investing", "credit score",
                "money tips", "retirement", "frugal living", "emergency fund", "passive income", "spreadsheet",
                "sinking funds", "net worth"],
    "home-decor": ["living room", "bedroom", "kitchen", "farmhouse decor", "bathroom", "gallery wall",
                   "throw pillow", "entryway", "bookshelf", "rug", "boho decor", "accent wall", "patio",
                   "dining room"],
    "mens-fashion": ["outfit", "suit", "sneakers", "denim jacket", "chinos", "watch", "leather boots",
                     "streetwear", "blazer", "casual look", "overcoat", "hoodie", "beard style", "haircut"],
    "quotes": ["quote", "life lesson", "relationship advice", "motivation", "inspiration", "affirmation",
               "love quote", "friendship quote", "mindset", "self care", "wisdom", "positive vibes", "truth",
               "saying"],
    "tattoos": ["tattoo", "sleeve", "minimalist tattoo", "rose tattoo", "script tattoo", "finger tattoo",
                "mandala", "back piece", "linework", "dotwork", "wrist tattoo", "moon tattoo", "snake tattoo",
                "flash sheet"],
    "travel": ["road trip", "beach", "itinerary", "packing list", "national park", "city guide", "hidden gem",
               "island", "hiking trail", "weekend getaway", "bucket list", "hotel", "backpacking", "sunset"],
    "vehicles": ["truck", "classic car", "motorcycle", "camper van", "off road build", "sports car", "jeep",
                 "muscle car", "supercar", "pickup", "overland rig", "hot rod", "electric car", "wagon"],
}

ADJECTIVES = ["easy", "simple", "cute", "modern", "vintage", "cozy", "beautiful", "creative", "minimalist",
              "amazing", "budget friendly", "stunning", "quick", "rustic", "colorful", "elegant", "bold", "fun",
              "classic", "unique"]

AUDIENCES = ["beginners", "kids", "teens", "women", "men", "busy moms", "small spaces", "students", "couples",
             "everyone"]

SITES = ["The Crafty Blog", "Homebody Journal", "Style Notes", "Little Things Co", "Budget Bliss", "Wanderlist",
         "Ink and Needle", "Garage Stories", "Teach Play Learn", "Party Pantry", "eBay", "Etsy", "Amazon.com"]

# Sentence templates; {noun}, {adj}, {audience} are filled per post.
SENTENCES = [
    "Looking for {adj} {noun} ideas? Here are our favourites for {audience}.",
    "This {adj} {noun} is perfect for {audience} and takes less than an hour.",
    "We’ve rounded up the most {adj} {noun} inspiration you’ll find this year.",
    "Step by step guide to a {adj} {noun}, with tips we learned the hard way.",
    "Save this pin for later: {adj} {noun} ideas that actually work.",
    "Whether you’re new to this or a pro, this {noun} will make your day.",
    "Our {noun} is handmade with love and ships worldwide.",
    "Find out why everyone is talking about this {adj} {noun}.",
    "Check out the full post for more {noun} photos and a free printable.",
    "Few would argue that a {adj} {noun} is the easiest way to brighten things up.",
]

TITLE_TEMPLATES = [
    "{n} {Adj} {Noun} Ideas for {Audience}",
    "How to Make a {Adj} {Noun}",
    "{Adj} {Noun}",
    "{Adj} {Noun} {Noun2}",
    "The Best {Noun} for {Audience}",
    "{n} {Noun} Tips You Need to Know",
    "{Noun} Inspiration",
    "DIY {Adj} {Noun}",
]

BRAND_WORDS = ["Studio", "Collective", "Co.", "Journal", "Daily", "Life", "Blog", "Designs", "Shop", "Lab",
               "House", "Magazine"]

# Non-English fragments: the real table has Russian and Greek posts and emoji in titles and poster names.
RUSSIAN = ["Идеи для дома своими руками", "Красивый маникюр на каждый день", "Новогодний декор",
           "Стильный образ для мужчин", "Путешествие по Европе", "Татуировка на руке"]
GREEK = ["Ιδέες για χειροτεχνίες", "Χριστουγεννιάτικη διακόσμηση", "Ταξίδι στην Ελλάδα"]
RUSSIAN_NAMES = ["Анна Смирнова", "Мария Иванова", "Ольга Петрова", "Дмитрий Соколов"]
EMOJI = ["✨", "💕", "🎄", "🌸", "🔥", "♡︎", "😍", "🌿", "🚗", "💰"]
FANCY_NAMES = ["𝒍𝒖𝒏𝒂 𝒃𝒍𝒐𝒈", "𝓜𝓲𝓵𝓪 𝓢𝓽𝔂𝓵𝓮", "𝕮𝖗𝖆𝖋𝖙𝖞 𝕮𝖆𝖙"]
