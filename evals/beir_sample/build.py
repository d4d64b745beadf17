"""Builds this BEIR-format sample from the official acts in ../shared/data/regulations (kk + ru).

    python evals/beir_sample/build.py     # rewrites corpus.jsonl, queries.jsonl, qrels.tsv here

Documents are the acts' own chunks (our chunker: chapters, numbered points, standard rows), so
`_id` is the chunk id and `title` its header line. Queries are hand-written, as citizens ask, in
kk/ru/en; each is judged relevant to the chunk(s) that answer it in the query's language (English
queries to both the Russian and the Kazakh chunk). Checked by reading the chunks.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from assistant.chunking import StructuredChunker  # noqa: E402
from assistant.corpus import parse_regulation  # noqa: E402

REGULATIONS = HERE.parents[2] / "shared" / "data" / "regulations"
ACTS = ["adilet--143260", "qriim--153229", "dsm--142960", "qriim--140948"]

# (query id, lang, question, relevant chunk ids without the "act-" prefix)
QUERIES = [
    ("q01", "ru", "сколько стоит поставить апостиль на свидетельство из загса", ["adilet--143260-ru#17"]),
    ("q02", "kk", "апостиль қою үшін мемлекеттік баж қанша", ["adilet--143260-kk#17"]),
    ("q03", "en", "what is the fee for an apostille on a Kazakh document", ["adilet--143260-ru#17", "adilet--143260-kk#17"]),
    ("q04", "ru", "за сколько рабочих дней поставят апостиль в ЦОНе", ["adilet--143260-ru#16"]),
    ("q05", "kk", "апостиль қанша жұмыс күнінде дайын болады", ["adilet--143260-kk#16"]),
    ("q06", "en", "how long does it take to get an apostille through the portal", ["adilet--143260-ru#16", "adilet--143260-kk#16"]),
    ("q07", "ru", "какие документы нужны чтобы апостилировать документ", ["adilet--143260-ru#19"]),
    ("q08", "kk", "апостиль қоюға қандай құжаттар керек", ["adilet--143260-kk#19"]),
    ("q09", "ru", "основания для отказа в апостилировании", ["adilet--143260-ru#22"]),
    ("q10", "ru", "сколько дней оформляют проездной документ беженцу", ["qriim--153229-ru#15"]),
    ("q11", "kk", "босқынға жол жүру құжаты қанша күнде беріледі", ["qriim--153229-kk#15"]),
    ("q12", "en", "how many working days to issue a travel document for a refugee", ["qriim--153229-ru#15", "qriim--153229-kk#15"]),
    ("q13", "ru", "что такое проездной документ и кому его выдают", ["qriim--153229-ru#4"]),
    ("q14", "kk", "жол жүру құжаты деген не", ["qriim--153229-kk#4"]),
    ("q15", "ru", "сколько хранят готовый проездной документ если его не забрали", ["qriim--153229-ru#11"]),
    ("q16", "en", "what happens if I do not collect my travel document", ["qriim--153229-ru#11", "qriim--153229-kk#11"]),
    ("q17", "ru", "за сколько минут выдают справку о том что не состою на учете у фтизиатра", ["dsm--142960-ru#8"]),
    ("q18", "kk", "туберкулез диспансерлік есепте тұрмағаны туралы мәлімет қанша уақытта беріледі", ["dsm--142960-kk#8"]),
    ("q19", "en", "certificate from the psychiatric centre that I am not registered, how to get it online",
     ["dsm--142960-ru#12", "dsm--142960-kk#12"]),
    ("q20", "ru", "справка из наркологии через егов кто выдаёт", ["dsm--142960-ru#21"]),
    ("q21", "ru", "сколько дней выдают свидетельство на переоборудование машины", ["qriim--140948-ru#6"]),
    ("q22", "kk", "көлікті қайта жабдықтауға куәлік қанша күнде беріледі", ["qriim--140948-kk#5"]),
    ("q23", "ru", "почему могут отказать в свидетельстве на переоборудование транспортного средства", ["qriim--140948-ru#10"]),
    ("q24", "en", "is the vehicle re-equipment certificate free of charge", ["qriim--140948-ru#2", "qriim--140948-kk#1"]),
]


def main() -> int:
    chunker = StructuredChunker()
    docs = []
    for act in ACTS:
        for name in ("rus.md", "kaz.md"):
            for chunk in chunker.chunk(parse_regulation(REGULATIONS / act / name, {})):
                title = chunk.text.split("\n", 1)[0]
                docs.append({"_id": chunk.chunk_id, "title": title, "text": chunk.body,
                             "metadata": {"act": act, "lang": chunk.doc.lang, "url": chunk.doc.source_url}})
    ids = {d["_id"] for d in docs}
    for qid, _, _, relevant in QUERIES:
        missing = [r for r in relevant if f"act-{r}" not in ids]
        if missing:
            raise SystemExit(f"{qid}: no such chunk {missing} (the chunker changed? re-judge the queries)")
    with (HERE / "corpus.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
    with (HERE / "queries.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"_id": q, "text": t, "metadata": {"lang": lang}}, ensure_ascii=False) + "\n"
                      for q, lang, t, _ in QUERIES)
    with (HERE / "qrels.tsv").open("w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        fh.writelines(f"{q}\tact-{r}\t1\n" for q, _, _, relevant in QUERIES for r in relevant)
    print(f"{len(docs)} documents, {len(QUERIES)} queries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
