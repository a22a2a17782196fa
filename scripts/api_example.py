#!/usr/bin/env python3
"""What a merchant's developer does with Kontor's API (docs/api.md): invite a user to a
multi-user subscription, list its seats, and create 1,000 unique single-use coupon codes.

    KONTOR_API_KEY=kontor_… python scripts/api_example.py [--url http://127.0.0.1:8000]

Needs only `requests`. Each POST carries an Idempotency-Key, so running a step again after
a network error never invites twice or makes 2,000 codes.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid

import requests


class Api:
    def __init__(self, base: str, key: str) -> None:
        self.base = base.rstrip("/") + "/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def get(self, path: str, **params) -> dict:
        response = self.session.get(self.base + path, params=params, timeout=30)
        return self._json(response)

    def post(self, path: str, body: dict) -> dict:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        response = self.session.post(self.base + path, json=body, headers=headers, timeout=60)
        return self._json(response)

    @staticmethod
    def _json(response: requests.Response) -> dict:
        if response.status_code >= 400:
            problem = response.json()  # application/problem+json
            sys.exit(f"{response.status_code} {problem['code']}: {problem['detail']}")
        return response.json()


def first_multi_user_subscription(api: Api) -> dict:
    cursor = None
    while True:
        page = api.get(
            "/subscriptions", status="active", limit=100, **({"cursor": cursor} if cursor else {})
        )
        for subscription in page["items"]:
            # Multi-user (bought with a user count) or corporate: both have seats.
            if subscription["user_count"] > 0 or subscription["corporate_offer"]:
                return subscription
        cursor = page["next_cursor"]
        if not cursor:
            sys.exit("No active multi-user subscription found.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("KONTOR_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--email", default=f"new.colleague+{uuid.uuid4().hex[:6]}@example.com")
    args = parser.parse_args()
    api = Api(args.url, os.environ["KONTOR_API_KEY"])

    # 1. Invite a user to a multi-user subscription.
    subscription = first_multi_user_subscription(api)
    seats = f"/subscriptions/{subscription['id']}/seats"
    print(f"Subscription {subscription['title']} ({subscription['id']})")
    invitation = api.post(seats + "/invitations", {"email": args.email, "language": "de"})
    print(
        f"Invited {invitation['email']}: {invitation['status']}, expires {invitation['expires_at']}"
    )

    # 2. List the seats: the account's counts, its users and pending invitations.
    account = api.get(seats)
    print(f"Seats: {account['seats_taken']} taken of {account['maximum_users']}"
          f" ({account['seats_free']} free)")  # fmt: skip
    for row in api.get(seats + "/users", state="active")["items"]:
        print(f"  user        {row['user_email']:<36} {row['product']:<20} {row['state']}")
    for row in api.get(seats + "/invitations", status="pending")["items"]:
        print(f"  invitation  {row['email']:<36} expires {row['expires_at']}")

    # 3. 1,000 unique single-use codes, in a campaign of their own on the bundle of an
    #    existing campaign.
    bundle = api.get("/coupon-campaigns", limit=1)["items"][0]["bundle"]
    code = f"api-example-{uuid.uuid4().hex[:8]}"
    campaign = api.post(
        "/coupon-campaigns",
        {"code": code, "name": "Mailing (API example)", "template": "MAIL-##########",
         "quantity": 1, "bundle": bundle, "discount_type": "percent",
         "discount_percent": "15"},
    )  # fmt: skip
    generated = api.post(f"/coupon-campaigns/{campaign['code']}/codes", {"quantity": 1000})
    codes = generated["codes"]
    print(f"Campaign {campaign['code']}: {generated['count']} new codes, "
          f"{len(set(codes))} unique, e.g. {', '.join(codes[:3])}")  # fmt: skip
    detail = api.get(f"/coupon-campaigns/{campaign['code']}")
    print(f"Campaign now holds {detail['summary']['codes']} codes "
          f"({detail['summary']['remaining']} redemptions left)")  # fmt: skip


if __name__ == "__main__":
    main()
