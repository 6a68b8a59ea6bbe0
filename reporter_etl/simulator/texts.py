"""The simulator's strings flattened into tables: every question, answer, NLP class and state a row shows is an
index into one of these, and each intent knows where its strings start."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import vocab


@dataclass(frozen=True)
class Texts:
    """Flattened string tables and, per intent index, where its strings start in them."""

    questions: tuple[str, ...]
    answers: tuple[str, ...]
    classes: tuple[str, ...]
    states: tuple[str, ...]
    intent_names: tuple[str, ...]
    patterns: tuple[str, ...]
    q_base: np.ndarray
    q_count: np.ndarray
    a_base: np.ndarray
    a_count: np.ndarray
    class_of: np.ndarray
    state_base: np.ndarray
    state_count: np.ndarray
    weights: np.ndarray  # draw weights of the regular intents (operator excluded: it comes with transfers)
    topic_label: np.ndarray  # message label id a reviewer would put on the intent's phrases, or -1
    catch_all: int  # intent index of the catch-all class
    operator: int
    start_q: int
    start_a: int
    start_class: int
    start_state: int
    root_state: int
    operator_a_base: int
    event_a: np.ndarray  # answer index per event, -1 when the event has no answer
    event_state: np.ndarray
    operator_state: int


def _build_texts() -> Texts:
    questions = [vocab.START_QUESTION]
    answers = [vocab.START_ANSWER]
    classes = [vocab.START_CLASS]
    states = [vocab.ROOT_STATE, vocab.START_CLASS]
    q_base, q_count, a_base, a_count, class_of, state_base, state_count = [], [], [], [], [], [], []
    topic: list[int] = []
    all_intents = [*vocab.INTENTS]

    def add_intent(its_questions: tuple[str, ...], its_answers: tuple[str, ...], nlp_class: str,
                   its_states: tuple[str, ...], topic_label: int) -> None:  # fmt: skip
        q_base.append(len(questions))
        q_count.append(len(its_questions))
        questions.extend(its_questions)
        a_base.append(len(answers))
        a_count.append(len(its_answers))
        answers.extend(its_answers)
        class_of.append(len(classes))
        classes.append(nlp_class)
        state_base.append(len(states))
        state_count.append(len(its_states))
        states.extend(its_states)
        topic.append(topic_label)

    for it in all_intents:
        add_intent(it.questions, it.answers, it.nlp_class, it.states,
                   next((v for k, v in vocab.TOPIC_LABELS.items() if it.nlp_class.startswith(k)), -1))  # fmt: skip
    catch_all = len(all_intents)
    add_intent(vocab.CATCH_ALL_QUESTIONS, vocab.CATCH_ALL_ANSWERS, vocab.CATCH_ALL, (vocab.CATCH_ALL,), -1)
    operator_a_base = len(answers)
    answers.extend(vocab.OPERATOR_ANSWERS)
    event_a = []
    for text in vocab.EVENT_ANSWERS:
        if text is None:
            event_a.append(-1)
        else:
            event_a.append(len(answers))
            answers.append(text)
    event_state = []
    for st in vocab.EVENT_STATES:
        event_state.append(len(states))
        states.append(st)
    operator = next(i for i, it in enumerate(all_intents) if it.name == vocab.OPERATOR_INTENT)
    weights = np.array([0.0 if i == operator else it.weight for i, it in enumerate(all_intents)])
    return Texts(
        questions=tuple(questions),
        answers=tuple(answers),
        classes=tuple(classes),
        states=tuple(states),
        intent_names=tuple(it.name for it in all_intents),
        patterns=tuple(it.pattern for it in all_intents),
        q_base=np.array(q_base, dtype=np.int16),
        q_count=np.array(q_count, dtype=np.int16),
        a_base=np.array(a_base, dtype=np.int16),
        a_count=np.array(a_count, dtype=np.int16),
        class_of=np.array(class_of, dtype=np.int16),
        state_base=np.array(state_base, dtype=np.int16),
        state_count=np.array(state_count, dtype=np.int16),
        weights=weights / weights.sum(),
        topic_label=np.array(topic, dtype=np.int64),
        catch_all=catch_all,
        operator=operator,
        start_q=0,
        start_a=0,
        start_class=0,
        start_state=1,
        root_state=0,
        operator_a_base=operator_a_base,
        event_a=np.array(event_a, dtype=np.int16),
        event_state=np.array(event_state, dtype=np.int16),
        operator_state=int(state_base[operator]),
    )


TEXTS = _build_texts()
