"""Тема 04: примитивы синхронизации потоков."""

from corpus.runner import Variant, replace

NOTEBOOK = "04-sync"

VARIANTS = [
    Variant("account_safe", "no_lock_at_all", replace(
        "        with self._lock:\n            self.balance += amount", "        self.balance += amount")),
    Variant("account_safe", "check_outside_lock", '''
class Account:
    def __init__(self, balance=0):
        self.balance = balance
        self._lock = threading.Lock()

    def deposit(self, amount):
        with self._lock:
            self.balance += amount

    def withdraw(self, amount):
        if self.balance < amount:
            raise ValueError("мало денег")
        with self._lock:
            self.balance -= amount
'''),
    Variant("account_safe", "rlock_and_condition", valid=True, source='''
class Account:
    def __init__(self, balance=0):
        self.balance = balance
        self._guard = threading.RLock()

    def deposit(self, amount):
        self._guard.acquire()
        try:
            self.balance = self.balance + amount
        finally:
            self._guard.release()

    def withdraw(self, amount):
        with self._guard:
            if amount > self.balance:
                raise ValueError(f"не хватает: {self.balance} < {amount}")
            self.balance = self.balance - amount
'''),
]
