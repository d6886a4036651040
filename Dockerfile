FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir .
ENV STOREFRONT_DATA_DIR=/data STOREFRONT_API_HOST=0.0.0.0
CMD ["storefront", "api"]
