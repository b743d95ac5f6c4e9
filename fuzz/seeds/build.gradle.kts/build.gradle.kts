plugins {
    kotlin("jvm") version "1.9.22"
    `java-library`
}

val ktorVersion: String by project

dependencies {
    implementation("io.ktor:ktor-server-core:$ktorVersion")
    implementation(kotlin("stdlib"))
    api("com.squareup.okhttp3:okhttp:4.12.0")
    testImplementation("org.junit.jupiter:junit-jupiter:5.10.1") {
        exclude(group = "org.hamcrest")
    }
    implementation(projects.core)
    implementation(libs.guava)
    implementation(group = "org.slf4j", name = "slf4j-api", version = "2.0.11")
}
