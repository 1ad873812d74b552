"""Goals as a client sees them: URLs and nested trees."""

GOALS = "/api/v1/goals/"


def goal_url(goal_id):
    return f"{GOALS}{goal_id}"


def walk(nodes):
    """Every node of nested goal trees, parents before children."""
    for node in nodes:
        yield node
        yield from walk(node.get("children", []))
