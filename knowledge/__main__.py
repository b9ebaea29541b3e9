"""Command-line tools for content editors.

    python -m knowledge check            validate every file; errors name file and line
    python -m knowledge confirm [UNIT ...] [-l LANG ...]   mark translations as reviewed against
                                         the current en and sv texts (UNIT: a topic id,
                                         phrase:KEY or out_of_scope:NAME; --all for everything)
    python -m knowledge build            check, generate Rasa NLU data, build the search index
    python -m knowledge show TOPIC [-l LANG]   show a topic's answer as the bot gives it
    python -m knowledge ask "QUESTION" [-l LANG]   which topic would answer, with scores
"""

from __future__ import annotations

import argparse
import sys
import textwrap

import settings
from knowledge import editorial
from knowledge.loader import load_knowledge


def cmd_check(args) -> int:
    kb, issues = load_knowledge(settings.KNOWLEDGE_DIR, settings.TOPICS_CONTRACT, review_after_months=args.review_months)
    for issue in issues:
        print(issue)
    confirmations = editorial.open_confirmations(settings.KNOWLEDGE_DIR)
    if confirmations and args.notes:
        print(f"note: {len(confirmations)} statement(s) still to be confirmed (confirm_with_dpo / confirm_with_team):")
        for line in confirmations:
            print(f"  {line}")
    errors = sum(i.level == "error" for i in issues)
    warnings = len(issues) - errors
    topics = len(kb.topics) if kb else "?"
    verdict = "FAILED" if errors else "OK"
    if not settings.TOPICS_CONTRACT.exists():
        print(f"note: topic contract {settings.TOPICS_CONTRACT} not found; topic ids were not checked against it")
    print(f"knowledge check {verdict}: {topics} topics × {len(settings.LANGUAGES)} languages, {errors} error(s), {warnings} warning(s)")
    return 1 if errors else 0


def cmd_confirm(args) -> int:
    if not args.units and not args.all:
        print("name the units to confirm (a topic id, phrase:KEY, out_of_scope:NAME) or pass --all", file=sys.stderr)
        return 2
    try:
        done = editorial.confirm(settings.KNOWLEDGE_DIR, args.units or None, args.lang or None)
    except KeyError as exc:
        print(f"unknown unit(s): {exc.args[0]}", file=sys.stderr)
        return 2
    units = sorted({unit for unit, _ in done})
    print(f"confirmed {len(done)} translation(s) in {len(units)} unit(s) against the current en and sv texts ({editorial.TRANSLATIONS_FILE})")
    return 0


def _load_or_exit():
    kb, issues = load_knowledge(settings.KNOWLEDGE_DIR, settings.TOPICS_CONTRACT, review_after_months=settings.REVIEW_AFTER_MONTHS)
    if kb is None:
        for issue in issues:
            if issue.level == "error":
                print(issue, file=sys.stderr)
        raise SystemExit("the knowledge files have errors: run `make knowledge-check`")
    return kb


def cmd_build(args) -> int:
    from scripts.stack import build_index, generate_nlu, prepare_model

    kb = _load_or_exit()
    generate_nlu(kb)
    prepare_model()
    build_index(kb)
    return 0


def cmd_show(args) -> int:
    kb = _load_or_exit()
    if args.topic not in kb.topics:
        print(f"unknown topic {args.topic!r}; topics: {', '.join(kb.topics)}", file=sys.stderr)
        return 2
    topic = kb.topics[args.topic]
    entry = topic.entry(args.lang)
    print(f"[{topic.id}] {entry.title}  ({args.lang}, reviewed {topic.last_reviewed}, owner: {topic.owner})\n")
    print(entry.answer)
    if entry.details and args.details:
        print("\n--- details ---\n" + entry.details)
    print("\nSources:")
    for source in topic.sources:
        print(f"  - {source.name}: {source.url}")
    if topic.related:
        print("Related: " + ", ".join(f"{kb.title(t, args.lang)} ({t})" for t in topic.related if t in kb.topics))
    return 0


def cmd_ask(args) -> int:
    from knowledge import langid
    from knowledge.decide import DecisionConfig, decide, fuse
    from knowledge.retrieval import Embedder, Retriever

    kb = _load_or_exit()
    lang = args.lang or langid.choose_language(args.question, None, None, settings.DEFAULT_LANGUAGE)
    retriever = Retriever(kb, Embedder(settings.EMBEDDING_MODEL), settings.INDEX_DIR)
    cfg = DecisionConfig.load()
    ranking = retriever.rank(args.question, lang)
    decision = decide(ranking, cfg, len(args.question.split()))
    fused = fuse(ranking, cfg)
    act = max(ranking.acts.items(), key=lambda kv: kv[1]) if ranking.acts else ("-", 0.0)
    print(f"language: {lang}   decision: {decision.kind}   (standalone; the live bot also reads the conversation)")
    print(f"likeliest conversation act: {act[0]} ({act[1]:.2f}); out of scope: {ranking.p_oos:.2f}")
    if decision.kind == "out_of_scope":
        print(f"out-of-scope category: {decision.oos_category} (similarity {ranking.oos_dense:.3f})")
    print(f"\n{'topic':32} {'fused':>6} {'clf':>6} {'dense':>6} {'bm25':>6}")
    for topic_id, score in list(fused.items())[: args.top]:
        print(f"{topic_id:32} {score:6.3f} {ranking.clf.get(topic_id, 0):6.3f} {ranking.dense[topic_id]:6.3f} {ranking.lexical[topic_id]:6.3f}")
    if decision.topic:
        print("\n" + textwrap.fill(kb.topics[decision.topic].entry(lang).answer, 100))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate the knowledge files")
    check.add_argument("--review-months", type=int, default=settings.REVIEW_AFTER_MONTHS, help="warn when not reviewed for this many months")
    check.add_argument("--no-notes", dest="notes", action="store_false", help="do not list the statements still to be confirmed")
    check.set_defaults(func=cmd_check)
    confirm = sub.add_parser("confirm", help="mark translations as reviewed against the current en and sv texts")
    confirm.add_argument("units", nargs="*", help="topic ids, phrase:KEY or out_of_scope:NAME")
    confirm.add_argument("-l", "--lang", action="append", choices=settings.LANGUAGES, help="only these languages (repeatable)")
    confirm.add_argument("--all", action="store_true", help="every unit")
    confirm.set_defaults(func=cmd_confirm)
    sub.add_parser("build", help="generate NLU data and the search index").set_defaults(func=cmd_build)
    show = sub.add_parser("show", help="show a topic's answer")
    show.add_argument("topic")
    show.add_argument("-l", "--lang", default="en", choices=settings.LANGUAGES)
    show.add_argument("--no-details", dest="details", action="store_false")
    show.set_defaults(func=cmd_show)
    ask = sub.add_parser("ask", help="which topic would answer a question")
    ask.add_argument("question")
    ask.add_argument("-l", "--lang", choices=settings.LANGUAGES)
    ask.add_argument("--top", type=int, default=5)
    ask.set_defaults(func=cmd_ask)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
