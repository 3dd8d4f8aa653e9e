"""No card number is ever stored: card sales with a card number typed into every free-text
field the UI has, then every artefact scanned for anything that passes Luhn with 13-19 digits.

The parts are real: a register over LMDB files, its sync link to a real Mosquitto, the
real back office (`BackOffice`) on SQLite and on PostgreSQL. The test drives the view
models, the objects the Kivy screens call, with the synchronous runner.

Inventory of the free-text fields (appliance/ui/screens/*.py and *.kv, the view models)
======================================================================================

The UI has no Kivy TextInput. Text comes from the on-screen `Keyboard` / `TextPrompt`
(appliance/ui/widgets.py, `RegisterApp.prompt_text`), from the physical keyboard and a
keyboard-wedge scanner (appliance/ui/keys.py), or as a view model argument:

=====================  ===============================================  ==================
field                  where (screen -> view model -> register)          a card number ...
=====================  ===============================================  ==================
product search         sell: search row + Keyboard, or typing ->         read only (search);
                       SellViewModel.search / key -> Register.search     nothing kept
scanner input          wedge burst + Enter, serial scanner ->            refused, not echoed
                       SellViewModel.scanned -> Register.add_barcode     (CARD_SCANNED)
park name              sell Park -> SellViewModel.park(label) ->         refused (was KEPT in
                       Register.park (the screen sends none today)       LMDB: fixed here)
discount reason        discount: Reason prompt -> set_reason/apply ->    refused (Discount)
                       Register.discount_line/order
customer search        discount: Customer prompt -> search_customers     read only; nothing
                       -> Register.find_customers (the local cache)      kept, not sent
gift card number       tender: Gift card prompt -> TenderViewModel       refused, not echoed
                       .gift_card -> Register.balances; .balance ->      (was echoed; a tender
                       Register.add_tender                               with it was taken)
card reference         TenderViewModel.card(method, reference) (the      refused (Tender)
                       screen sends none today) -> Register.add_tender
cash drop bag          back room: Bag number prompt -> set_bag/drop ->   refused (Till.drop)
                       Register.cash_drop
no-sale reason         back room: "Why open the drawer?" prompt ->       refused, now BEFORE a
                       BackroomViewModel.no_sale -> Register.no_sale     manager is asked
label search           back room labels: prompt or typing/scan ->        read only; nothing
                       LabelsViewModel.search / key -> Register.search   kept
=====================  ===============================================  ==================

Keypads, not free text: the login PIN pad and the manager override (12 digits at most,
compared with a hash, never stored), the tender amount (12 characters), the discount
value (9), the back room amount (12) and the manual weight (8): none can hold 13 digits,
which the test shows by typing a whole card number into them. The card method is a
button from `tender.card_methods` (config). There is no notes field, no customer entry
form and no return screen at the register (returns are the back office's).

What is scanned
===============

- every file under the register's data dir (LMDB `data.mdb`, `lock.mdb`), raw bytes;
- the back office database: on SQLite the raw bytes of the file and its -wal/-shm, on
  PostgreSQL the raw files of the back office's tables, indexes and TOAST tables after a
  CHECKPOINT (TOAST may compress a long value, so these are a bonus; the system
  catalogues copied from the template are left out: PostgreSQL's own node trees there
  read `[ 64 0 0 0 0 ... 25 0 0 0 ]`, single digits a space apart, and some pass Luhn),
  and on both every column of every table dumped as text (the authoritative check);
- the logs: everything Python logged at DEBUG (register, link, back office, and paho's
  own packet log, turned on for every client), Mosquitto's log (`log_type all`), and
  PostgreSQL's server log from the test's start;
- the MQTT traffic: a subscriber on `#` keeps the topic, payload, correlation data and
  response topic of every message (retained ones too).

Two scans (`card_scanner.py`, with its own self-test). The specific one looks for each
card number typed (as typed and as bare digits) anywhere, with no exclusion at all. The
generic one finds every span of whole digit groups (split by single spaces or dashes:
`appliance.domain.pan`'s rule) holding 13-19 digits that passes Luhn, also with JSON's
`\\u` escapes of digits read, and excuses a hit only for a reason the test can prove:

- a barcode of the catalogue the test loaded (EAN-13 has its own check digit, so about
  one in ten also passes Luhn: 4 of the demo catalogue's do);
- the fraction of a decimal number (`0.` then digits: a float such as a duration);
- a part of a UUID or a hex digest (the ids and the hash chain the system makes), or
  of a UUID cut short at either end (LMDB's freed pages keep old data partly written
  over), by the dash groups of a UUID: a card's 4-4-4-4 never fits;
- a 13-digit epoch-millisecond time within a day of the run.

Anything else fails the test. A self-check plants a card number never typed into
copies of the real artefacts (through the LMDB store layer, an SQL insert, a log line,
an MQTT payload) and requires both scans to find it, so a scanner that sees nothing
cannot pass.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from appliance.bootstrap import new_sale_id, open_storage, start_sync
from appliance.config import Config
from appliance.domain.cart import Cart
from appliance.domain.pan import contains_card_number, luhn_valid
from appliance.register import CARD_AS_ACCOUNT, CARD_SCANNED, Register
from appliance.store import local
from appliance.store.executor import StorageThread
from appliance.store.lmdb_env import Storage
from appliance.sync.link import SyncLink
from appliance.ui.viewmodels.base import ERROR
from appliance.ui.viewmodels.formatting import sentence
from appliance.ui.viewmodels.runner import SyncRunner
from appliance.ui.viewmodels.session import Session
from backoffice import ledger
from backoffice.db import Database
from devstack import Mosquitto, Postgres
from tests.backoffice.conftest import db_url, pg_template  # noqa: F401  (shared fixtures)
from tests.devstack.conftest import postgres  # noqa: F401  (shared fixture)
from tests.faults.shop import office, shop_config, stock, wait_for
from tests.security.artefacts import WireCapture, database_files, dump_database, files_under
from tests.security.card_scanner import digits_of, legit_values, scan
from tests.store.conftest import CASHIER_PIN, MANAGER_PIN, FakeClock, seed
from tests.ui.conftest import FakeDrawer, FakeLabelPrinter, FakePrintQueue, FakeScale

# --- the card numbers typed -----------------------------------------------------------------

VISA_SPACED = "4111 1111 1111 1111"
VISA_DASHED = "4111-1111-1111-1111"
VISA_13 = "4222222222222"
AMEX = "3782 822463 10005"  # 15 digits, grouped 4-6-5 as on the card
MASTERCARD_IN_TEXT = "card 5555555555554444 declined"
NINETEEN = "6011 0000 0000 0000 001"  # 19 digits
TYPED = (VISA_SPACED, VISA_DASHED, VISA_13, AMEX, MASTERCARD_IN_TEXT, NINETEEN)
PLANTED = "5105 1051 0510 5100"  # never typed: the self-check's card number

# --- the register and its screens -------------------------------------------------------------


@dataclass
class Till:
    """A register with its sync link and the screens' session over it."""

    config: Config
    storage: Storage
    register: Register
    link: SyncLink
    session: Session
    closed: bool = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.link.stop()
            self.register.io.close()
            self.storage.close()


def open_till(root: Path, broker: Mosquitto) -> Till:
    config = shop_config(root / "till", "r1", broker.url)
    storage = open_storage(config)
    seed(storage, config)
    register = Register(config, storage, StorageThread(5.0), FakeClock(), new_sale_id)
    link = start_sync(register)
    session = Session(register, SyncRunner(), link=link, print_queue=FakePrintQueue(),
                      scale=FakeScale(), drawer=FakeDrawer(register),
                      label_printer=FakeLabelPrinter())  # fmt: skip
    return Till(config, storage, register, link, session)


def stock_the_office(url: str, config: Config) -> None:
    """The demo catalogue, and the customer and balances `seed` gives the register (the
    link's refresh replaces the register's with the office's)."""
    with stock(url, config) as db, db.transaction() as tx:
        ledger.put_customer(tx, "s1", "c1", "Cy", 0, 300)
        ledger.put_balance(tx, "s1", "store_credit", "c1", 25_00)
        ledger.put_balance(tx, "s1", "gift_card", "g-100", 10_00)


def said(state: Any) -> tuple[str, str]:
    return state.message, state.message_kind


def refused(text: str) -> tuple[str, str]:
    return sentence(text), ERROR


def keypads_hold_no_card_number(session: Session) -> None:
    """A whole card number typed into each keypad: none keeps more than 12 characters."""
    digits = digits_of(NINETEEN)
    for key, text in ((session.login.key, lambda: session.login.state.pin_mask),
                      (session.tender.key, lambda: session.tender.state.entry_text),
                      (session.discount.key, lambda: session.discount.state.value_text),
                      (session.backroom.key, lambda: session.backroom.state.amount_text),
                      (session.override.key, lambda: session.override.state.pin_mask)):  # fmt: skip
        for digit in digits:
            key(digit)
        assert 0 < len(text()) <= 12, text()
        key("clear")


def log_in(session: Session) -> None:
    login = session.login
    session.start()
    login.choose("ann")
    for digit in digits_of(VISA_SPACED):  # a card number on the PIN pad: 12 digits, wrong
        login.key(digit)
    login.enter()
    assert said(login.state) == refused("wrong PIN for ann")
    for digit in CASHIER_PIN:
        login.key(digit)
    login.enter()
    assert login.state.logged_in, login.state.message


def pay_and_complete(session: Session) -> str:
    tender = session.tender
    assert tender.state.can_complete, tender.state
    tender.complete()
    assert tender.state.paid, said(tender.state)
    number = tender.state.sale_number
    tender.new_sale()
    return number


def sell_by_card(session: Session) -> str:
    """Search, scan, park and the card reference, each with a card number, then a card sale."""
    sell, tender = session.sell, session.tender
    sell.search(VISA_SPACED)
    assert sell.state.tiles == () and sell.state.message == "", "a search finds nothing"
    sell.search("")
    for i, char in enumerate(AMEX):  # typed by a person: the search follows
        sell.key(char, now=100.0 + i)
    sell.tick(now=200.0)
    assert sell.state.search_text == AMEX and sell.state.tiles == ()
    sell.search("")
    for i, char in enumerate(digits_of(VISA_SPACED) + "\r"):  # a card swiped on a wedge reader
        sell.key(char, now=300.0 + i * 0.005)
    assert said(sell.state) == refused(CARD_SCANNED)
    sell.scanned(VISA_DASHED)  # a serial scanner
    assert said(sell.state) == refused(CARD_SCANNED)
    sell.tap("cola")
    sell.park(VISA_DASHED)
    assert said(sell.state)[1] == ERROR and "card number" in sell.state.message
    assert sell.state.parked == () and not sell.state.cart.is_empty, "nothing was parked"
    sell.park("blue coat")
    (ticket,) = sell.state.parked
    assert ticket.label == "blue coat"
    sell.recall(ticket.ticket)
    tender.open()
    tender.card("credit", VISA_SPACED)
    assert said(tender.state) == refused(
        "card reference looks like a card number; record the terminal's reference only"
    )
    assert tender.state.tenders == ()
    tender.card("credit", "A1B2C3")
    return pay_and_complete(session)


def sell_split_with_discount(session: Session) -> str:
    """The discount reason and the customer search with card numbers; card + cash."""
    sell, discount, tender = session.sell, session.discount, session.tender
    sell.tap("french-press")
    sell.tap("avocado")
    discount.open()
    discount.key("5")
    discount.set_reason(MASTERCARD_IN_TEXT)
    discount.apply()
    assert said(discount.state) == refused("the discount reason looks like a card number")
    discount.set_reason("damaged box")
    discount.apply()
    assert discount.state.message == "Discount applied"
    discount.search_customers(AMEX)
    assert discount.state.customers == ()
    discount.search_customers("Cy")
    discount.attach(discount.state.customers[0].id)
    tender.open()
    tender.card("debit", "T-7781", "10.00")
    tender.cash("50.00")
    return pay_and_complete(session)


def sell_gift_card_and_card(session: Session) -> str:
    """Gift card numbers that are card numbers, then the real gift card and a card."""
    session.sell.tap("french-press")
    tender = session.tender
    tender.open()
    tender.gift_card(VISA_13)
    assert said(tender.state) == refused(CARD_AS_ACCOUNT)
    tender.balance("gift_card", digits_of(NINETEEN), "1.00")  # straight at the view model
    assert said(tender.state) == refused(CARD_AS_ACCOUNT) and tender.state.tenders == ()
    tender.gift_card("g-100")
    tender.balance("gift_card", "g-100")
    tender.card("credit", "REF-19")
    return pay_and_complete(session)


def sell_store_credit_and_card(session: Session) -> str:
    """A 19-digit card number in a reference's text; store credit and a card."""
    session.sell.tap("mug")
    session.discount.attach("c1")
    tender = session.tender
    tender.open()
    tender.balance("store_credit", "c1", "5.00")
    tender.card("credit", f"approval {NINETEEN}")
    assert said(tender.state)[1] == ERROR and len(tender.state.tenders) == 1
    tender.card("credit", "APP-42")
    return pay_and_complete(session)


def back_room(session: Session) -> None:
    """The bag and the no-sale reason with card numbers; the label search; a punch."""
    backroom, override = session.backroom, session.override
    backroom.set_bag(NINETEEN)
    for key in "20":
        backroom.key(key)
    backroom.drop()
    assert said(backroom.state) == refused("the bag id looks like a card number")
    backroom.set_bag("bag-7")
    backroom.drop()
    assert "bag bag-7 recorded" in backroom.state.message
    backroom.no_sale(VISA_SPACED)
    assert said(backroom.state) == refused(
        "the reason looks like a card number; it is never stored"
    )
    assert not override.state.active, "refused before a manager is called over"
    backroom.no_sale("change for the float")
    assert override.state.active
    for digit in digits_of(AMEX):  # a card number on the manager's PIN pad: 12 digits, wrong
        override.key(digit)
    override.submit()
    assert override.state.active and "not a manager's PIN" in override.state.message
    for digit in MANAGER_PIN:
        override.key(digit)
    override.submit()
    assert not override.state.active and backroom.state.message == "No sale approved by Mo"
    backroom.punch("clock_in")
    labels = session.labels
    labels.refresh()
    labels.search(MASTERCARD_IN_TEXT)
    assert labels.state.results == ()
    labels.search("")
    for char in VISA_DASHED:
        labels.key(char)
    assert labels.state.results == () and labels.state.query == VISA_DASHED


def test_the_typed_forms_are_card_numbers() -> None:
    for text in (*TYPED, PLANTED):
        assert contains_card_number(text) and luhn_valid(digits_of(text)), text
    assert {len(digits_of(t)) for t in TYPED} >= {13, 15, 16, 19}


def test_card_sales_with_card_numbers_typed_everywhere_store_none(
    tmp_path: Path,
    db_url: str,  # noqa: F811  (the shared fixture, imported above)
    debug_log: Path,
    request: pytest.FixtureRequest,
) -> None:
    first_ms = int(time.time() * 1000)
    server: Postgres | None = None
    pg_log_from = 0
    if db_url.startswith("postgresql"):
        server = request.getfixturevalue("postgres")
        pg_log_from = server.log_path.stat().st_size
    broker = Mosquitto(tmp_path / "mq").start()
    capture = WireCapture(broker)
    till: Till | None = None
    try:
        till = open_till(tmp_path, broker)
        stock_the_office(db_url, till.config)
        with office(db_url, broker, client_id="bo-cards"):
            register = till.register
            assert wait_for(lambda: register.catalog_version() == 1, 15), "no catalogue pull"
            assert wait_for(lambda: register.find_customers("Cy"), 15), "no refresh"
            session = till.session
            log_in(session)
            session.backroom.open_till()
            keypads_hold_no_card_number(session)
            sales = [
                sell_by_card(session),
                sell_split_with_discount(session),
                sell_gift_card_and_card(session),
                sell_store_credit_and_card(session),
            ]
            back_room(session)
            assert len(set(sales)) == 4
            assert wait_for(lambda: register.status().unsent == 0, 20), register.status()
            assert register.status().rejected == 0
            assert wait_for(lambda: len(capture.messages) >= 7 * 2, 5)  # entries and acks
        with Database(db_url) as db, db.transaction(readonly=True) as tx:
            assert tx.scalar("SELECT COUNT(*) FROM entries") == 7  # 4 sales, drop, no sale, punch
            assert tx.scalar("SELECT COUNT(*) FROM rejected") == 0
        till.close()
        data_dir = till.config.register.data_dir
        artefacts = files_under(data_dir, "lmdb")
        artefacts |= database_files(db_url, server)
        artefacts["database dump"] = dump_database(db_url)
        artefacts["python log"] = debug_log.read_bytes()
        artefacts["mosquitto log"] = broker.log_path.read_bytes()
        if server is not None:
            artefacts["postgres log"] = server.log_path.read_bytes()[pg_log_from:]
        wire = capture.artefacts()
        artefacts |= wire
    finally:
        capture.close()
        if till is not None:
            till.close()
        broker.close()

    legit = legit_values(till.config, first_ms)
    found = scan(artefacts, TYPED, legit)
    print(f"SECURITY card data [{db_url.split(':')[0]}]: {found.summary()}; "
          f"{len(wire)} MQTT messages; examples {found.examples}")  # fmt: skip
    assert not found.leaks, "\n".join(found.leaks)
    assert found.bytes > 100_000 and len(wire) >= 14
    assert b"pos/v1/s1/r1/out/sale" in b"".join(wire.values()), "the sales were captured"
    assert b"damaged box" in artefacts["database dump"], "the clean values were stored"

    # The self-check: a card number planted in copies of these artefacts is found.
    planted = plant(tmp_path, till.config, artefacts, db_url)
    caught = scan(planted, (), legit)
    assert {leak.split(" @")[0] for leak in caught.leaks} == set(planted), caught.leaks
    typed = scan(planted, (PLANTED,), legit)
    assert sum("typed" in leak for leak in typed.leaks) >= len(planted)


def plant(
    tmp_path: Path, config: Config, artefacts: dict[str, bytes], url: str
) -> dict[str, bytes]:
    """Copies of the run's artefacts, each holding PLANTED where it could have leaked."""
    copy_dir = tmp_path / "planted-lmdb"
    shutil.copytree(config.register.data_dir, copy_dir)
    copy = replace(config, register=replace(config.register, data_dir=copy_dir))
    with open_storage(copy) as storage:  # through the store layer, as a leak would come
        storage.write(lambda txn: local.park(txn, storage, PLANTED, Cart(), "CAD"))
    out = {f"planted {k}": v for k, v in files_under(copy_dir, "lmdb").items() if "data" in k}
    if url.startswith("sqlite:///"):
        path = tmp_path / "planted.db"
        shutil.copy(url[len("sqlite:///") :], path)
        with sqlite3.connect(path) as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('note', ?)", (PLANTED,))
        conn.close()
        out["planted sqlite"] = path.read_bytes()
        out["planted dump"] = dump_database(f"sqlite:///{path}")
    else:
        out["planted dump"] = artefacts["database dump"] + f"\nrejected.reason: {PLANTED}".encode()
    log_line = f"\n2026-11-25 09:00:00 WARNING backoffice.consumer: rejected: {PLANTED}\n"
    out["planted log"] = artefacts["python log"] + log_line.encode()
    topic, sale = next((k, v) for k, v in artefacts.items() if k.endswith("/out/sale"))
    head, payload, *rest = sale.split(b"\n")
    envelope = json.loads(payload)
    envelope["body"]["tenders"][0]["reference"] = PLANTED
    out[f"planted {topic}"] = b"\n".join([head, json.dumps(envelope).encode(), *rest])
    return out
