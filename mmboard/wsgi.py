import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmboard.settings")
application = get_wsgi_application()

# What starting made (Django, the apps and their modules) lives as long as the process: keep it out
# of the garbage collector's full collections, which then scan only what requests made. A minutes
# PDF makes a lot; its occasional full collection drops from ~160 ms to ~45 ms (bench/README.md).
gc.freeze()
