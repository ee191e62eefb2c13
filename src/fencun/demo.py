"""``fencun demo``: a Huizhou furniture merchant's month, end to end, on a simulated clock.

Everything real but WeChat: the sandbox plays WeChat (over HTTP, signed and encrypted
callbacks) with the followers of the shipped furniture world; the product syncs them,
plans each campaign of the ``subscription-90d`` scenario with the engine, approves it,
delivers it through the outbox (tag + ``sendall``), and learns from what the world's
followers do: their messages, locations and unfollows arrive at the callback, their
reads and clicks through the campaign's tracked links, their orders through the order
import with the campaign's coupon. The month runs day by day on the product's clock
(:mod:`fencun.clock`) ending today, so the console shows it as the last 30 days.

The summary compares what the product did with backtests of the same world, seed and
campaigns: the engine's policy and blasting every campaign to every follower.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from fencun.engine.clock import SHANGHAI

# The Django apps are imported inside the functions: the demo sets Django up first, on a
# data dir of its own.

WORLD = "fencun.worlds.furniture:world"
SCENARIO = "subscription-90d"
#: What the demo shop calls the scenario's products (the scenario knows only their SKUs).
PRODUCT_NAMES = {
    "sofa-3seat": "三人位布艺沙发", "sofa-corner": "转角沙发", "sofa-recliner": "功能躺椅沙发",
    "bed-oak-18": "橡木实木床 1.8 米", "bed-storage-15": "高箱储物床 1.5 米",
    "mattress-latex": "乳胶床垫", "mattress-spring": "独立弹簧床垫",
    "wardrobe-3door": "三门衣柜", "wardrobe-sliding": "推拉门衣柜",
    "dining-round": "实木圆餐桌", "dining-set-6": "六人餐桌椅套装",
    "lighting-lamp": "落地灯", "lighting-pendant": "餐厅吊灯",
    "decor-curtain": "遮光窗帘", "decor-cushions": "抱枕两件套", "decor-rug": "客厅地毯",
}
SEND_HOUR = 10
APPROVER = "演示店长"
# Where the campaign's article and product pages would live on the merchant's site.
SITE = "https://shop.example.com"


class DemoError(RuntimeError):
    """The demo's month could not go on (a campaign did not finish sending)."""


@dataclass
class CampaignOutcome:
    name: str
    day: int
    urgent: bool
    audience: int = 0
    sent: int = 0
    held_back: dict[str, int] = field(default_factory=dict)
    status: str = "held"  # sent | held (everyone held back)


@dataclass
class DemoSummary:
    days: int
    followers_start: int
    followers_end: int
    campaigns: list[CampaignOutcome]
    pushes: int
    held_back: int
    orders: int
    revenue: float
    attributed_revenue: float
    unfollows: int
    backtests: dict[str, dict[str, Any]]


def scenario_for(days: int, followers: int | None, today: date) -> dict[str, Any]:
    """The shipped scenario, starting ``days`` before ``today``, cut to those days."""
    from fencun.worlds import scenarios

    scenario = scenarios.load(SCENARIO)
    scenario["start"] = (today - timedelta(days=days)).isoformat()
    scenario["campaigns"] = [c for c in scenario["campaigns"] if c["day"] < days]
    if followers:
        scenario["followers"] = followers
    return scenario


def _at(day: date, hour: float = SEND_HOUR) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI) + timedelta(hours=hour)


class Demo:
    """One demo run; :meth:`setup` then :meth:`run_day` for each day, then :meth:`summary`."""

    def __init__(self, box: Any, scenario: dict[str, Any]) -> None:
        self.box, self.scenario = box, scenario
        self.world = box.world
        self.start = date.fromisoformat(scenario["start"])
        self.pending: list[dict[str, Any]] = []
        self.outcomes: dict[str, CampaignOutcome] = {}
        self.campaign_ids: dict[str, int] = {}  # scenario id -> Campaign pk
        self.account: Any = None
        self.followers_start = 0
        self.orders = 0

    # -- the merchant's setup ---------------------------------------------------------

    def setup(self, progress: Callable[[int, int], None] | None = None) -> None:
        """The account, its rules, stores and catalog, then a full follower sync."""
        from fencun import clock
        from fencun.accounts.models import Account
        from fencun.audience.models import Follower, Store
        from fencun.audience.sync import sync_followers
        from fencun.campaigns.models import Rules
        from fencun.catalog.models import Category, Product
        from fencun.channels.services import wechat_client

        clock.set_now(_at(self.start, 8))
        self.box.set_now(clock.time())
        cfg = self.box.config
        self.account = Account.objects.create(
            app_id=cfg.app_id,
            app_secret=cfg.app_secret,
            token=cfg.token,
            aes_key=cfg.aes_key,
            mode=Account.Mode.SAFE,
            account_type=cfg.account_type,
            name="惠州木里家居（演示）",
            is_default=True,
        )
        Rules.objects.create(account=self.account, **self.scenario.get("rules", {}))
        names = {"huicheng": "惠城店", "jiangbei": "江北店", "huiyang": "惠阳店"}
        for s in self.scenario["stores"]:
            Store.objects.create(
                account=self.account, name=names.get(s["id"], s["id"]), lat=s["lat"], lng=s["lng"]
            )
        products: dict[str, tuple[str, float]] = {}
        for c in self.scenario["campaigns"]:
            for p in c["products"]:
                products.setdefault(p["id"], (c["category"], p["price"]))
        for c in self.scenario["categories"]:
            Category.objects.create(
                account=self.account,
                key=c["id"],
                name=c["name"],
                keywords=c.get("keywords", []),
                large_item=c["id"] in ("sofa", "bed", "wardrobe", "dining", "mattress"),
            )
        categories = {c.key: c for c in Category.objects.filter(account=self.account)}
        Product.objects.bulk_create(
            Product(
                account=self.account,
                category=categories[cat],
                sku=sku,
                name=PRODUCT_NAMES.get(sku, f"{categories[cat].name} {sku.split('-', 1)[-1]}"),
                price=price,
                link_url=f"{SITE}/p/{sku}",
            )
            for sku, (cat, price) in products.items()
        )
        with wechat_client(self.account) as client:
            sync_followers(self.account, client, progress=progress)
        self.followers_start = Follower.objects.filter(account=self.account, subscribed=True).count()
        self.pending = sorted(self.scenario["campaigns"], key=lambda c: (c["day"], not c["urgent"]))

    # -- one day ----------------------------------------------------------------------

    def run_day(self, n: int) -> list[CampaignOutcome]:
        """Day ``n``: plan and send what is due at 10:00, then the world's answer."""
        from fencun import clock
        from fencun.insights import rollups

        day = self.start + timedelta(days=n)
        clock.set_now(_at(day))
        self.box.set_now(clock.time())
        done: list[CampaignOutcome] = []
        sent_today = False
        for item in list(self.pending):
            if item["day"] > n:
                continue
            last_day = n >= item["day"] + item.get("days", 1) - 1
            if sent_today and not last_day:
                continue  # one mass send a day: try again tomorrow
            outcome = self._campaign(item, n)
            if outcome.sent or last_day:
                self.pending.remove(item)
                done.append(outcome)
            sent_today = sent_today or outcome.sent > 0
        # The sandbox hands the day's deliveries to the world and posts what WeChat would
        # report; reads, clicks and orders come back for the product's own inputs.
        self._answer(self.box.world_day(day, self._campaigns_sent(), wait=True), day)
        rollups.run(lag=0)  # what the worker's periodic task does: the console's figures
        return done

    def _campaign(self, item: dict[str, Any], n: int) -> CampaignOutcome:
        from fencun.campaigns import planning, services
        from fencun.campaigns.models import Campaign
        from fencun.catalog.models import Category, Product
        from fencun.insights import orders as order_codes

        outcome = self.outcomes.get(item["id"])
        if outcome is None:
            category = Category.objects.get(account=self.account, key=item["category"])
            products = list(
                Product.objects.filter(account=self.account, sku__in=[p["id"] for p in item["products"]])
            )
            names = "、".join(p.name for p in products)
            campaign = services.create_campaign(
                self.account,
                name=item["title"],
                category=category,
                segment=item.get("segment") or "",
                urgent=item["urgent"],
                title=item["title"],
                body=f"{names}，到店体验有惊喜。领券下单立减，详情见文末链接。",
                products=products,
                # An article, as a furniture shop's pushes are: a draft with a cover, mass sent.
                message_type="news",
            )
            services.lint_campaign(campaign, acknowledge_warnings=True)
            order_codes.register_code(self.account, "coupon", self._coupon(item["id"]), campaign.pk)
            self.campaign_ids[item["id"]] = campaign.pk
            outcome = self.outcomes[item["id"]] = CampaignOutcome(item["title"], n, item["urgent"])
        campaign = Campaign.objects.get(pk=self.campaign_ids[item["id"]])
        snapshot = planning.dry_run(campaign)
        outcome.audience, outcome.held_back = snapshot.audience, dict(snapshot.held_back)
        if snapshot.reach == 0:
            return outcome
        planning.approve(campaign, by=APPROVER, scheduled_for=snapshot.planned_for)
        self._deliver()
        campaign.refresh_from_db()
        outcome.sent = services.delivery_counts(campaign)["recipients_sent"]
        if campaign.status != Campaign.Status.DONE:
            raise DemoError(f"campaign {campaign.name} is {campaign.status}: {campaign.pause_reason}")
        outcome.status = "sent"
        return outcome

    @staticmethod
    def _coupon(scenario_id: str) -> str:
        return f"DEMO-{scenario_id.upper()}"

    def _deliver(self) -> None:
        """The scheduler and a worker, in this process, until the outbox is drained."""
        from fencun.campaigns import delivery
        from fencun.insights import outbox

        owner = delivery.worker_id()
        delivery.run_scheduler(owner)
        while delivery.has_work():
            result = delivery.work(owner)
            if not (result.sent or result.failed or result.retried):
                break
        self.box.flush()
        outbox.sync()

    def _campaigns_sent(self) -> dict[str, dict[str, Any]]:
        """What each send was about, by clientmsgid, for the world (WeChat does not know)."""
        from fencun.campaigns.models import OutboxItem

        ids = {pk: sid for sid, pk in self.campaign_ids.items()}
        items = {c["id"]: c for c in self.scenario["campaigns"]}
        return {
            key: {"campaign": sid, "category": items[sid]["category"], "products": items[sid]["products"]}
            for key, pk in OutboxItem.objects.filter(campaign__account=self.account).values_list(
                "clientmsgid", "campaign_id"
            )
            if (sid := ids.get(pk)) is not None
        }

    def _answer(self, events: list[dict[str, Any]], day: date) -> None:
        """Reads and clicks through the campaigns' tracked links, orders through the order
        import with the campaign's coupon: the ways they would really arrive."""
        from fencun.insights import links
        from fencun.insights.orders import import_orders

        clicks = [e for e in events if e["kind"] in ("read", "link_click")]
        orders = [e for e in events if e["kind"] == "order"]
        for e in clicks:
            campaign = self.campaign_ids.get(str(e.get("campaign")))
            if campaign is None:
                continue
            if e["kind"] == "read":
                target, product, article = f"{SITE}/a/{e['campaign']}", None, True
            else:
                product = e.get("product")
                target, article = f"{SITE}/p/{product}", False
            token = links.make_token(self.account.pk, campaign, e["openid"], product, target, article=article)
            links.follow(token, datetime.fromisoformat(e["at"]))
        rows = []
        for e in orders:
            self.orders += 1
            row = {
                "order_id": f"D{day:%Y%m%d}-{self.orders:06d}",
                "amount": f"{float(e['amount']):.2f}",
                "ordered_at": e["at"],
                "openid": e["openid"],
                "product": e.get("product") or "",
            }
            if e.get("campaign"):
                row["coupon"] = self._coupon(str(e["campaign"]))
            rows.append(row)
        if rows:
            import_orders(self.account, rows)

    # -- the result -------------------------------------------------------------------

    def summary(self, days: int, backtests: dict[str, dict[str, Any]]) -> DemoSummary:
        """The month's figures, read as the console's overview reads them (the same query
        over the same days), beside the backtests."""
        from fencun.insights import rollups
        from fencun.insights.services import overview

        rollups.run(lag=0)
        view = overview(self.account, days=days)
        outcomes = list(self.outcomes.values())
        return DemoSummary(
            days=days,
            followers_start=self.followers_start,
            followers_end=view.followers,
            campaigns=outcomes,
            pushes=view.sent,
            held_back=view.held_back,
            orders=view.orders,
            revenue=view.revenue,
            attributed_revenue=view.revenue_attributed,
            unfollows=view.unsubscribes,
            backtests=backtests,
        )


def backtests(scenario: dict[str, Any], days: int, seed: int) -> dict[str, dict[str, Any]]:
    """The same world, seed and campaigns, backtested with the engine and with blasting."""
    from fencun.backtest.runner import run_backtest

    return {policy: run_backtest(scenario, WORLD, policy, days=days, seed=seed) for policy in ("fencun", "blast")}
