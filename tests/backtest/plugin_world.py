"""A plug-in world written outside the product, as anyone could: ``tests.backtest.plugin_world:world``.

Followers ``o-plug-0 …`` each like one category (index mod the number of categories);
they read and sometimes buy a push of it, and unfollow after a second push within a week.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

CST = timezone(timedelta(hours=8))


class PlugWorld:
    def __init__(self, scenario: dict) -> None:
        self.categories = [c if isinstance(c, str) else c["id"] for c in scenario["categories"]]
        self.n = int(scenario.get("followers", 60))
        self.pushes: dict[str, list[date]] = {}
        self.delivered: list[dict] = []
        self.orders: list[dict] = []
        self.gone: set[str] = set()

    def start(self, seed: int) -> list[dict]:
        at = datetime(2025, 3, 1, 9, 0, tzinfo=CST).isoformat()
        self.seed = seed
        return [
            {"kind": "subscribe", "openid": f"o-plug-{i}", "at": at, "scene": "qrcode"}
            for i in range(self.n)
        ]

    def likes(self, openid: str) -> str:
        return self.categories[int(openid.rsplit("-", 1)[1]) % len(self.categories)]

    def day(self, today: date, deliveries: list[dict]) -> list[dict]:
        events: list[dict] = []
        noon = datetime.combine(today, time(12, 0), CST)
        for n, dv in enumerate(deliveries):
            self.delivered.append(dv)
            openid = dv["openid"]
            if openid in self.gone:
                continue
            recent = [d for d in self.pushes.get(openid, []) if (today - d).days < 7]
            self.pushes.setdefault(openid, []).append(today)
            if dv["category"] == self.likes(openid):
                events.append(
                    {
                        "kind": "read",
                        "openid": openid,
                        "at": noon.isoformat(),
                        "campaign": dv["campaign"],
                    }
                )
                if (n + self.seed) % 3 == 0:
                    order = {
                        "kind": "order",
                        "openid": openid,
                        "at": (noon + timedelta(hours=1)).isoformat(),
                        "amount": dv["products"][0]["price"],
                        "product": dv["products"][0]["id"],
                        "campaign": dv["campaign"],
                    }
                    self.orders.append(order)
                    events.append(order)
            if recent:
                self.gone.add(openid)
                events.append(
                    {
                        "kind": "unsubscribe",
                        "openid": openid,
                        "at": (noon + timedelta(hours=2)).isoformat(),
                    }
                )
        return events


def world(scenario: dict) -> PlugWorld:
    return PlugWorld(scenario)


class NoDay:
    def start(self, seed: int) -> list[dict]:
        return []


def broken(scenario: dict) -> NoDay:
    return NoDay()


class KnowingPlugWorld(PlugWorld):
    """The plug-in world with its truth: a liked push sells a third of the time; a second
    push within a week loses the follower (worth 1,000 yuan)."""

    def expected(self, openid: str, delivery: dict) -> dict:
        today = datetime.fromisoformat(delivery["at"]).astimezone(CST).date()
        if openid in self.gone:
            return {"gain_yuan": 0.0, "harm_yuan": 0.0, "p_unfollow": 0.0}
        liked = delivery["category"] == self.likes(openid)
        gain = delivery["products"][0]["price"] / 3 if liked else 0.0
        p_unfollow = float(any((today - d).days < 7 for d in self.pushes.get(openid, [])))
        return {"gain_yuan": gain, "harm_yuan": 1000.0 * p_unfollow, "p_unfollow": p_unfollow}


def knowing(scenario: dict) -> KnowingPlugWorld:
    return KnowingPlugWorld(scenario)
