"""Small fixed vocabularies of the synthetic project: every string a row shows is an index into these."""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS = ("telegram", "viber", "vk", "chatwidget", "resterisk")
TELEPHONY = "resterisk"

# (channel, bot name, share of sessions)
BOT_PLAN: tuple[tuple[str, str, float], ...] = (
    ("telegram", "Shop assistant (Telegram)", 0.30),
    ("telegram", "Support desk (Telegram)", 0.08),
    ("viber", "Shop assistant (Viber)", 0.12),
    ("vk", "Shop assistant (VK)", 0.10),
    ("chatwidget", "Website widget", 0.25),
    ("resterisk", "Call centre", 0.15),
)

PROJECT_WORDS = ("shop", "store", "market", "retail", "outlet")

MESSAGE_STATUSES = ("SENT", "DELIVERED", "READ", "NOT_SENT", "NOT_DELIVERED")
# status shares per channel: SENT only in telegram and vk, READ only in viber and vk
STATUS_SHARES: dict[str, tuple[float, float, float, float, float]] = {
    "telegram": (0.90, 0.08, 0.0, 0.02, 0.0),
    "vk": (0.30, 0.08, 0.60, 0.0, 0.02),
    "viber": (0.0, 0.30, 0.65, 0.0, 0.05),
    "chatwidget": (0.0, 0.97, 0.0, 0.0, 0.03),
    "resterisk": (0.0, 0.98, 0.0, 0.0, 0.02),
}

KIND_START, KIND_TEXT, KIND_EVENT = 0, 1, 2
MESSAGE_TYPES = ("START", "TEXT", "EVENT")  # options of the MESSAGE_TYPE filter, by kind

RULE_NONE, RULE_INTENT, RULE_PATTERN = 0, 1, 2
RULE_TYPES = (None, "intent", "pattern")


@dataclass(frozen=True)
class Intent:
    name: str  # the classifier's intent name (NlpInfo.rule, INTENT filter)
    nlp_class: str  # state where processing of the phrase started (NlpInfo.nlpClass)
    states: tuple[str, ...]  # states that may produce the reply (NlpInfo.nlpState)
    weight: float
    pattern: str
    questions: tuple[str, ...]
    answers: tuple[str, ...]


CATCH_ALL = "/CatchAll"
INTENTS: tuple[Intent, ...] = (
    Intent("greeting", "/Greeting", ("/Greeting",), 6, "* {hello|hi|hey} *",
           ("hello", "hi", "Hi there!", "good morning", "hey"),
           ("Hello! How can I help you today?", "Hi! What can I do for you?")),
    Intent("order.status", "/Order/Status", ("/Order/Status", "/Order/Status/AskNumber"), 14,
           "* {where|status} * order *",
           ("where is my order", "order status", "has my order shipped?", "track my parcel",
            "when will my order arrive", "my order is late"),
           ("Please send me your order number.", "Your order is on its way and should arrive in 2 days.",
            "Your order has been handed to the courier.")),
    Intent("order.cancel", "/Order/Cancel", ("/Order/Cancel", "/Order/Cancel/Confirm"), 5,
           "* cancel * order *",
           ("cancel my order", "I want to cancel the order", "how do I cancel", "please cancel order"),
           ("Your order has been cancelled.", "Do you really want to cancel the order?")),
    Intent("order.create", "/Order/Create", ("/Order/Create",), 6, "* {buy|order} *",
           ("I want to buy a jacket", "how do I place an order", "can I order by phone", "I'd like to order"),
           ("You can place an order on our website or right here.", "What would you like to order?")),
    Intent("delivery.cost", "/Delivery/Cost", ("/Delivery/Cost",), 6, "* {delivery|shipping} * {cost|price} *",
           ("how much is delivery", "shipping price", "is delivery free", "delivery cost to London"),
           ("Delivery is free for orders over 50 dollars.", "Standard delivery costs 5 dollars.")),
    Intent("delivery.time", "/Delivery/Time", ("/Delivery/Time",), 5, "* how long * delivery *",
           ("how long does delivery take", "when will you deliver", "delivery time"),
           ("Delivery usually takes 2 to 4 working days.",)),
    Intent("payment.methods", "/Payment/Methods", ("/Payment/Methods",), 4, "* pay * {card|cash} *",
           ("can I pay by card", "payment options", "do you accept paypal", "can I pay cash on delivery"),
           ("We accept cards, PayPal and cash on delivery.",)),
    Intent("payment.problem", "/Payment/Problem", ("/Payment/Problem", "/Payment/Problem/Retry"), 4,
           "* payment * {failed|declined} *",
           ("payment failed", "my card was declined", "I was charged twice", "money was taken but no order"),
           ("Sorry about that! Please try another card.", "I have passed your payment issue to our team.")),
    Intent("returns.howto", "/Returns/HowTo", ("/Returns/HowTo",), 5, "* {return|refund} *",
           ("how do I return an item", "I want a refund", "return policy", "the size does not fit"),
           ("You can return any item within 30 days.", "Please fill in the return form on our website.")),
    Intent("returns.status", "/Returns/Status", ("/Returns/Status",), 3, "* where * refund *",
           ("where is my refund", "refund status", "I returned it last week, no money yet"),
           ("Refunds take up to 10 working days.",)),
    Intent("account.login", "/Account/Login", ("/Account/Login",), 3, "* {login|password} *",
           ("I can't log in", "reset my password", "forgot password"),
           ("I have sent a password reset link to your email.",)),
    Intent("promo", "/Promo", ("/Promo",), 4, "* {discount|promo} *",
           ("do you have discounts", "promo code", "is there a sale"),
           ("Use code SPRING10 for 10% off!", "Our sale starts on Friday.")),
    Intent("store.hours", "/Store/Hours", ("/Store/Hours",), 3, "* {open|hours} *",
           ("opening hours", "are you open on sunday", "what time do you close"),
           ("We are open from 9 am to 9 pm every day.",)),
    Intent("store.address", "/Store/Address", ("/Store/Address",), 2, "* where * store *",
           ("where is your store", "store address", "nearest shop"),
           ("Our store is at 12 High Street.",)),
    Intent("product.availability", "/Product/Availability", ("/Product/Availability",), 5,
           "* {in stock|available} *",
           ("is it in stock", "do you have size M", "when will it be available again"),
           ("Yes, it is in stock.", "This item is out of stock, we expect it next week.")),
    Intent("operator", "/Operator", ("/Operator/Transfer",), 3, "* {operator|human|agent} *",
           ("talk to a human", "operator please", "I want a real person", "connect me to an agent"),
           ("Connecting you to an operator, please wait.",)),
    Intent("thanks", "/Thanks", ("/Thanks",), 6, "* thank* *",
           ("thank you", "thanks!", "great, thanks", "ok thank you"),
           ("You're welcome!", "Happy to help!")),
    Intent("goodbye", "/Goodbye", ("/Goodbye",), 3, "* {bye|that's all} *",
           ("bye", "that's all", "goodbye"),
           ("Goodbye! Have a nice day.",)),
    Intent("complaint", "/Complaint", ("/Complaint",), 2, "* {terrible|awful|complain} *",
           ("this is terrible service", "I want to complain", "awful experience"),
           ("I'm sorry to hear that. I have recorded your complaint.",)),
)  # fmt: skip
CATCH_ALL_QUESTIONS = (
    "asdf", "what's the weather like", "tell me a joke", "??", "123", "can you sing", "do you love me",
    "who are you really", "blah blah", "what is the meaning of life", "k", "I need help with something else",
)  # fmt: skip
CATCH_ALL_ANSWERS = (
    "Sorry, I didn't get that. Could you rephrase?",
    "I'm not sure I understand. Try asking differently.",
)
CATCH_ALL_SHARE = 0.11  # of client phrases
OPERATOR_INTENT = "operator"

START_QUESTION = "/start"
START_ANSWER = "Hi! I'm the shop assistant. Ask me about orders, delivery, payment or returns."
START_CLASS = "/Start"
ROOT_STATE = "/"

OPERATOR_ANSWERS = (
    "Hello, this is the support team. Let me check that for you.",
    "Could you give me your order number, please?",
    "Thank you, one moment please.",
    "I have fixed it on our side.",
    "Is there anything else I can help with?",
    "Your issue has been resolved.",
)

EVENTS = ("timeLimit", "livechatFinished", "hangup")
EVENT_TIME_LIMIT, EVENT_LIVECHAT_FINISHED, EVENT_HANGUP = 0, 1, 2
EVENT_ANSWERS = ("Are you still there?", "The operator has left the chat. Anything else I can do?", None)
EVENT_STATES = ("/Events/TimeLimit", "/Events/LivechatFinished", "/Events/Hangup")

EXCEPTIONS = (
    "TypeError: Cannot read property 'orderId' of undefined",
    "java.net.SocketTimeoutException: Read timed out (CRM integration)",
    "ReferenceError: deliveryCost is not defined",
)

PAGES = ("Home", "Catalog", "Product card", "Cart", "Checkout", "Delivery info", "Account")

OPERATORS: tuple[tuple[str, str, str], ...] = (
    ("10231", "Anna", "Morris"),
    ("10232", "James", "Walker"),
    ("10245", "Sofia", "Garcia"),
    ("10250", "Liam", "Turner"),
    ("10262", "Olivia", "Brooks"),
)
OPERATOR_CHANNEL = "operatorapi"

FIRST_NAMES = (
    "Alex", "Maria", "John", "Emma", "Daniel", "Olga", "Michael", "Sophie", "David", "Laura", "Peter", "Anna",
    "Chris", "Julia", "Tom", "Kate", "Ivan", "Elena", "Mark", "Nina", "Paul", "Irina", "Sam", "Lucy", "Max",
    "Eva", "Leo", "Mia", "Igor", "Zoe", "Victor", "Alice", "George", "Diana", "Oscar", "Vera",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Clark", "Lewis", "Young", "King",
    "Petrov", "Ivanova", "Novak", "Schmidt", "Rossi", "Garcia", "Martin", "Silva", "Kowalski", "Hughes",
    "Evans", "Walker", "Wood", "Hall", "Green", "Baker", "Adams", "Nelson", "Hill",
)  # fmt: skip

BLOCK_REASONS = ("Spam", "Abusive language", "Fraud suspicion", "Requested by security team")
BLOCKED_BY_USERS = (90017, 90023, 90031)

SESSION_RESULTS = (
    "Answered by bot",
    "Order status given",
    "Order cancelled",
    "Order placed",
    "Transferred to operator",
    "No answer",
    "Call back requested",
    "Call completed",
)
RESULT_ANSWERED, RESULT_STATUS, RESULT_CANCELLED, RESULT_PLACED, RESULT_TRANSFERRED = 0, 1, 2, 3, 4
RESULT_NO_ANSWER, RESULT_CALL_BACK, RESULT_CALL_DONE = 5, 6, 7

CALL_TASK_IDS = (51201, 51202, 51305)
DEFAULT_TRANSFER_TEXT = "Connecting you to an operator"

LANGS = ("en", "es", "de")
LANG_SHARES = (0.80, 0.12, 0.08)
SOURCES = ("ads", "organic", "email", "social")
SOURCE_SHARES = (0.35, 0.40, 0.15, 0.10)

# Label ids the generator sets (a reviewer's choices): named, as the catalog below lists them
LABEL_CORRECT_ANSWER, LABEL_WRONG_INTENT, LABEL_NO_ANSWER_FOUND = 1001, 1002, 1003
LABEL_DELIVERY, LABEL_PAYMENT, LABEL_RETURNS, LABEL_PROMO = 1004, 1005, 1006, 1007
LABEL_ADD_TRAINING_PHRASE, LABEL_ESCALATE = 1008, 1009
SESSION_LABEL_RESOLVED, SESSION_LABEL_NEEDS_REVIEW, SESSION_LABEL_COMPLAINT = 2001, 2002, 2003
SESSION_LABEL_SPAM, SESSION_LABEL_LEAD = 2004, 2005

# Label catalog: (group id, group name, group priority, ((label id, name, priority), ...))
MESSAGE_LABEL_GROUPS: tuple[tuple[int, str, int, tuple[tuple[int, str, int], ...]], ...] = (
    (101, "Quality", 1, ((LABEL_CORRECT_ANSWER, "Correct answer", 1), (LABEL_WRONG_INTENT, "Wrong intent", 2),
                         (LABEL_NO_ANSWER_FOUND, "No answer found", 3))),
    (102, "Topics", 2, ((LABEL_DELIVERY, "Delivery", 1), (LABEL_PAYMENT, "Payment", 2),
                        (LABEL_RETURNS, "Returns", 3), (LABEL_PROMO, "Promo", 4))),
    (103, "Follow-up", 3, ((LABEL_ADD_TRAINING_PHRASE, "Add training phrase", 1), (LABEL_ESCALATE, "Escalate", 2))),
)  # fmt: skip
# the topic label a reviewer puts on phrases of an NLP class below each prefix
TOPIC_LABELS = {"/Delivery": LABEL_DELIVERY, "/Payment": LABEL_PAYMENT, "/Returns": LABEL_RETURNS,
                "/Promo": LABEL_PROMO}  # fmt: skip
SESSION_LABELS: tuple[tuple[int, str, int], ...] = (
    (SESSION_LABEL_RESOLVED, "Resolved", 1),
    (SESSION_LABEL_NEEDS_REVIEW, "Needs review", 2),
    (SESSION_LABEL_COMPLAINT, "Complaint", 3),
    (SESSION_LABEL_SPAM, "Spam", 4),
    (SESSION_LABEL_LEAD, "Lead", 5),
)
COMMENTS = (
    "Check this answer",
    "Customer was upset",
    "Add this phrase to the FAQ",
    "Wrong classification",
    "Follow up by email",
    "Good example for training",
)


@dataclass(frozen=True)
class ExperimentPlan:
    key: str
    description: str
    branches: tuple[tuple[str, str, float], ...]  # (key, description, share)
    start_days_before_end: int
    stop_days_before_end: int | None  # None = still running


EXPERIMENTS: tuple[ExperimentPlan, ...] = (
    ExperimentPlan("greeting-v2", "Shorter greeting after /start; split 50/50",
                   (("control", "Current greeting, 50%", 0.5), ("short", "Short greeting, 50%", 0.5)), 21, None),
    ExperimentPlan("operator-offer", "When to offer an operator; split 40/30/30",
                   (("never", "No proactive offer, 40%", 0.4), ("early", "Offer after 2 misses, 30%", 0.3),
                    ("late", "Offer after 4 misses, 30%", 0.3)), 28, 9),
)  # fmt: skip
