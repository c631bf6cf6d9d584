# proto-plus's nanosecond datetime: the type of a snapshot's read, create and update times.
import datetime
from typing import Any

class DatetimeWithNanoseconds(datetime.datetime):
    @property
    def nanosecond(self) -> int: ...
    def timestamp_pb(self) -> Any: ...
    @classmethod
    def from_timestamp_pb(cls, stamp: Any) -> DatetimeWithNanoseconds: ...
