# The engine's image: the `treasury` command (worker, migrate, produce, generate, replay).
# docker-compose.yml builds it (`build: .`) for its migrate, worker and producer services.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# .dockerignore lets in only what `pip install .` needs: pyproject.toml, README.md and the packages
WORKDIR /src
COPY . .
RUN pip install . \
    && useradd --system --create-home --home-dir /var/lib/treasury --shell /usr/sbin/nologin treasury

# faust keeps its data directory (`<app id>-data`) in the working directory: the user's own home
USER treasury
WORKDIR /var/lib/treasury
EXPOSE 6066
ENTRYPOINT ["treasury"]
CMD ["--help"]
