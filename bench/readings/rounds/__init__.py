"""The parts of a readings run, in the order they run and their rows stand.

Each module measures one part with measure(run), which puts its figures into
run.results, and gives that part's rows of the report with rows(results, setup).
"""

from rounds import device, get_by_id, ingest, latest, listing, rollups, stats

ROUNDS = {
    "get": get_by_id,
    "list": listing,
    "stats": stats,
    "ingest": ingest,
    "rollups": rollups,
    "device": device,
    "latest": latest,
}
