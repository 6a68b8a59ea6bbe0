"""One pinned calendar for test worlds.

A world's content depends on its end date, and the default end date is today: a test that picks a seed for a
property of the data ("a day brings resumed sessions") would hold on some days and not on others. Test worlds
therefore end on a fixed day; tests of the "today" default set it explicitly.
"""

from datetime import date

TEST_END_DATE = date(2026, 3, 4)
